"""Basket commands as typed values (docs/adr/0010-wire-formats-below-store-and-sync.md).

A command is what the basket is asked to do; ``apply`` runs it on a basket (the pure state
machine decides), ``args`` is its journal and event form (JSON: times as ISO strings) and
``from_journal`` reads it back, so a journal written by earlier versions replays unchanged.
The store journals a command and applies it to the live basket only once its transaction
has committed.
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import datetime
from typing import Any, ClassVar, Self

from edge_agent.basket.customer import AgeChecked, BindStamp, Discount, EgaisAnswered, Identify, SetPart
from edge_agent.basket.machine import Basket
from edge_agent.basket.values import Line, Product
from edge_agent.fiscal.marks import MarkCheck


def _product_args(product: Product | None) -> dict[str, object] | None:
    return None if product is None else {f.name: getattr(product, f.name) for f in fields(product)}


@dataclass(frozen=True, slots=True, kw_only=True)
class Add:
    """An item arrived (box, tap or scan)."""

    op: ClassVar[str] = "add"
    product: Product | None
    gtin: str
    at: datetime
    ki: str | None = None
    mark_code: str | None = None
    sold_here: bool = False
    #: the chip's TID as read (hex), and whether it contradicts the EPC's bound TID (a copied tag)
    tid: str | None = None
    cloned: bool = False
    grams: int | None = None  # a weighed item's weight, from its mark code

    def apply(self, basket: Basket) -> Line | None:
        return basket.add(
            self.product,
            self.gtin,
            self.at,
            ki=self.ki,
            mark_code=self.mark_code,
            sold_here=self.sold_here,
            tid=self.tid,
            cloned=self.cloned,
            grams=self.grams,
        )

    def args(self) -> dict[str, object]:
        out: dict[str, object] = {
            "product": _product_args(self.product),
            "gtin": self.gtin,
            "ki": self.ki,
            "mark_code": self.mark_code,
            "sold_here": self.sold_here,
            "at": self.at.isoformat(),
        }
        if self.tid is not None:  # journals written before TIDs were kept replay unchanged
            out["tid"] = self.tid
        if self.cloned:
            out["cloned"] = True
        if self.grams is not None:
            out["grams"] = self.grams
        return out

    @classmethod
    def from_args(cls, a: dict[str, Any]) -> Add:
        product = Product(**a["product"]) if a.get("product") else None
        return cls(
            product=product,
            gtin=a["gtin"],
            at=datetime.fromisoformat(a["at"]),
            ki=a.get("ki"),
            mark_code=a.get("mark_code"),
            sold_here=a.get("sold_here", False),
            tid=a.get("tid"),
            cloned=a.get("cloned", False),
            grams=a.get("grams"),
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class Remove:
    """A line goes: the item left the box (``by`` customer) or staff voided it."""

    op: ClassVar[str] = "remove"
    line_id: int
    by: str
    device: str
    at: datetime

    def apply(self, basket: Basket) -> None:
        basket.remove(self.line_id, self.by, self.device, self.at)

    def args(self) -> dict[str, object]:
        return {"line_id": self.line_id, "by": self.by, "device": self.device, "at": self.at.isoformat()}

    @classmethod
    def from_args(cls, a: dict[str, Any]) -> Remove:
        return cls(line_id=a["line_id"], by=a["by"], device=a["device"], at=datetime.fromisoformat(a["at"]))


@dataclass(frozen=True, slots=True, kw_only=True)
class Verdict:
    """The mark-code check answered for a line, with what the fiscal receipt needs."""

    op: ClassVar[str] = "verdict"
    line_id: int
    outcome: str
    reason: str = ""
    fiscal_1265: str | None = None
    fiscal: dict[str, object] | None = None
    source: str | None = None
    req_id: str | None = None
    req_timestamp: int | None = None

    def apply(self, basket: Basket) -> None:
        basket.verdict(self.line_id, self.outcome, self.reason, self.fiscal_1265)

    def args(self) -> dict[str, object]:
        return {
            "line_id": self.line_id,
            "outcome": self.outcome,
            "reason": self.reason,
            "fiscal_1265": self.fiscal_1265,
            "fiscal": self.fiscal,
            "source": self.source,
            "req_id": self.req_id,
            "req_timestamp": self.req_timestamp,
        }

    @classmethod
    def from_args(cls, a: dict[str, Any]) -> Verdict:
        return cls(
            line_id=a["line_id"],
            outcome=a["outcome"],
            reason=a.get("reason", ""),
            fiscal_1265=a.get("fiscal_1265"),
            fiscal=a.get("fiscal"),
            source=a.get("source"),
            req_id=a.get("req_id"),
            req_timestamp=a.get("req_timestamp"),
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class Resolve:
    """Staff approve a MEDIUM problem."""

    op: ClassVar[str] = "resolve"
    problem_id: int
    by: str
    device: str
    at: datetime

    def apply(self, basket: Basket) -> None:
        basket.resolve(self.problem_id, self.by, self.device, self.at)

    def args(self) -> dict[str, object]:
        return {"problem_id": self.problem_id, "by": self.by, "device": self.device, "at": self.at.isoformat()}

    @classmethod
    def from_args(cls, a: dict[str, Any]) -> Resolve:
        return cls(problem_id=a["problem_id"], by=a["by"], device=a["device"], at=datetime.fromisoformat(a["at"]))


@dataclass(frozen=True, slots=True)
class StartPayment:
    op: ClassVar[str] = "start_payment"
    payment_id: str

    def apply(self, basket: Basket) -> None:
        basket.start_payment(self.payment_id)

    def args(self) -> dict[str, object]:
        return {"payment_id": self.payment_id}

    @classmethod
    def from_args(cls, a: dict[str, Any]) -> StartPayment:
        return cls(payment_id=a["payment_id"])


@dataclass(frozen=True, slots=True, kw_only=True)
class PaymentResult:
    """The payment's outcome; an approved one carries the tender (the basket becomes PAID)."""

    op: ClassVar[str] = "payment_result"
    approved: bool
    at: datetime
    message: str = ""
    tender: dict[str, object] | None = None

    def apply(self, basket: Basket) -> None:
        basket.payment_result(self.approved, self.at, self.message)

    def args(self) -> dict[str, object]:
        out: dict[str, object] = {"approved": self.approved, "at": self.at.isoformat()}
        if self.message:
            out["message"] = self.message
        if self.tender is not None:
            out["tender"] = self.tender
        return out

    @classmethod
    def from_args(cls, a: dict[str, Any]) -> PaymentResult:
        return cls(
            approved=a["approved"],
            at=datetime.fromisoformat(a["at"]),
            message=a.get("message", ""),
            tender=a.get("tender"),
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class RegisterChecked:
    """The lane's fiscal register checked a line's mark code; ``refusal`` says why it may not
    be sold, None when it may."""

    op: ClassVar[str] = "register_checked"
    line_id: int
    check: MarkCheck
    refusal: str | None = None

    def apply(self, basket: Basket) -> None:
        basket.register_checked(self.line_id, self.check, self.refusal)

    def args(self) -> dict[str, object]:
        return {"line_id": self.line_id, "check": self.check.to_dict(), "refusal": self.refusal}

    @classmethod
    def from_args(cls, a: dict[str, Any]) -> RegisterChecked:
        return cls(line_id=a["line_id"], check=MarkCheck.from_dict(a["check"]), refusal=a.get("refusal"))


@dataclass(frozen=True, slots=True)
class _Bare:
    """A command without arguments."""

    def args(self) -> dict[str, object]:
        return {}

    @classmethod
    def from_args(cls, a: dict[str, Any]) -> Self:
        return cls()


@dataclass(frozen=True, slots=True)
class Checkout(_Bare):
    op: ClassVar[str] = "checkout"

    def apply(self, basket: Basket) -> None:
        basket.checkout()


@dataclass(frozen=True, slots=True)
class DropDiscount(_Bare):
    op: ClassVar[str] = "drop_discount"

    def apply(self, basket: Basket) -> None:
        basket.drop_discount()


@dataclass(frozen=True, slots=True, kw_only=True)
class Close:
    """The sale is over: money captured, loyalty booked. ``points_earned``: what central's
    accrual gave the customer (the receipt screen says it), None without a customer."""

    op: ClassVar[str] = "close"
    points_earned: int | None = None

    def apply(self, basket: Basket) -> None:
        basket.close(self.points_earned)

    def args(self) -> dict[str, object]:
        return {} if self.points_earned is None else {"points_earned": self.points_earned}

    @classmethod
    def from_args(cls, a: dict[str, Any]) -> Close:
        return cls(points_earned=a.get("points_earned"))  # journals before it was kept: None


@dataclass(frozen=True, slots=True)
class CallStaff(_Bare):
    op: ClassVar[str] = "call_staff"

    def apply(self, basket: Basket) -> None:
        basket.call_staff()


@dataclass(frozen=True, slots=True)
class Cancel(_Bare):
    op: ClassVar[str] = "cancel"

    def apply(self, basket: Basket) -> None:
        basket.cancel()


Command = (
    Add
    | Remove
    | Verdict
    | RegisterChecked
    | Resolve
    | Checkout
    | StartPayment
    | PaymentResult
    | Identify
    | Discount
    | DropDiscount
    | Close
    | Cancel
    | CallStaff
    | AgeChecked
    | SetPart
    | BindStamp
    | EgaisAnswered
)
COMMANDS: dict[str, type[Command]] = {
    c.op: c
    for c in (
        Add,
        Remove,
        Verdict,
        RegisterChecked,
        Resolve,
        Checkout,
        StartPayment,
        PaymentResult,
        Identify,
        Discount,
        DropDiscount,
        Close,
        Cancel,
        CallStaff,
        AgeChecked,
        SetPart,
        BindStamp,
        EgaisAnswered,
    )
}


def from_journal(op: str, args: dict[str, Any]) -> Command:
    """A journal row back to its command (KeyError: an op this version does not know)."""
    return COMMANDS[op].from_args(args)
