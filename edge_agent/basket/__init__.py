"""The basket: a pure state machine of lines, problems and states (docs/architecture.md)."""

from edge_agent.basket.machine import Basket, BasketError, State
from edge_agent.basket.values import AgeProof, AlcoholHours, Line, Problem, Product, Rules

__all__ = ["AgeProof", "AlcoholHours", "Basket", "BasketError", "Line", "Problem", "Product", "Rules", "State"]
