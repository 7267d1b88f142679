"""Loyalty at the edge: the redemption allocation rules (pure)."""

from edge_agent.loyalty.allocation import ALWAYS_EXCLUDED, Allocation, allocate, redeemable_points

__all__ = ["ALWAYS_EXCLUDED", "Allocation", "allocate", "redeemable_points"]
