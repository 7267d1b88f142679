"""MQTT sync with central (DESIGN.md §6): envelope, topics, outbox publisher, requests, status."""
