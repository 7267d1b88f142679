"""Which lines of a past sale may go back, and the steps of a return (payment/returns.py). Pure."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Final

from edge_agent.basket import Basket, State
from edge_agent.errors import EdgeError
from edge_agent.payment.records import ReturnRecord


class ReturnStep(StrEnum):
    CHECKING = "checking"
    RECEIPT = "receipt"
    REFUNDING = "refunding"
    DONE = "done"
    FAILED = "failed"


FINAL: Final = frozenset({ReturnStep.DONE, ReturnStep.FAILED})


class ReturnError(EdgeError):
    """A return that cannot be made (not a sale of this store, already returned, ...)."""


@dataclass(frozen=True, slots=True)
class ReturnPlan:
    basket_id: str
    lines: tuple[int, ...]
    amount: int  # kopecks: what the customer paid for these lines


def plan_return(sale: Basket | None, wanted: Sequence[int], returned: set[int]) -> ReturnPlan:
    """The lines ``wanted`` of a closed sale, if every one was sold in it and not yet returned."""
    if sale is None or sale.state is not State.CLOSED:
        raise ReturnError("no_sale", "no paid sale of this store by that receipt")
    if not wanted or len(set(wanted)) != len(wanted):
        raise ReturnError("bad_lines", "name each line to return once")
    missing = [i for i in wanted if i not in sale.lines]
    if missing:
        raise ReturnError("no_line", f"the sale has no line {missing[0]}")
    again = [i for i in wanted if i in returned]
    if again:
        raise ReturnError("already_returned", f"line {again[0]} was already returned")
    return ReturnPlan(sale.id, tuple(wanted), sum(sale.lines[i].amount for i in wanted))


def returned_lines(returns: Iterable[ReturnRecord]) -> set[int]:
    """Lines of a sale taken back, or being taken back (every return but a failed one)."""
    return {i for r in returns if r.step != ReturnStep.FAILED for i in r.lines}
