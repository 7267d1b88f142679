"""Simulators of the store's hardware and remote services, speaking the real protocols."""
