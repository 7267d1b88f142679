"""The basket: a pure state machine of lines, problems and states (docs/architecture.md)."""

from edge_agent.basket.machine import (
    AlcoholHours,
    Basket,
    BasketError,
    Line,
    Problem,
    Product,
    Rules,
    State,
)

__all__ = ["AlcoholHours", "Basket", "BasketError", "Line", "Problem", "Product", "Rules", "State"]
