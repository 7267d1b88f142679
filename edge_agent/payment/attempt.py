"""A payment attempt's values: its steps, the attempt as the ``payments`` table holds it, what
a step needs done (``Action``), what came back (``Answer``) and where it leads (``Transition``),
and the kiosk's words for an outcome. Pure; the machine over them is ``steps.py``."""

from __future__ import annotations

import uuid as uuidlib
from collections.abc import Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Final

from edge_agent.basket.commands import Close, PaymentResult
from edge_agent.clock import Mono
from edge_agent.fiscal.document import FiscalDocument
from edge_agent.payment.provider import ProviderPayment, Refund
from edge_agent.payment.records import PaymentRecord, ReceiptRequest


class Step(StrEnum):
    CREATING = "creating"
    PENDING = "pending"
    RECEIPT = "receipt"
    CAPTURING = "capturing"
    LOYALTY = "loyalty"
    ABANDONED = "abandoned"
    CANCELLING = "cancelling"
    REFUNDING = "refunding"
    DONE = "done"
    FAILED = "failed"
    REFUNDED = "refunded"


FINAL: Final = frozenset({Step.DONE, Step.FAILED, Step.REFUNDED})
PAID_STATUSES: Final = frozenset({"AUTHORIZED", "CAPTURED"})
TOO_SLOW: Final = "the customer did not pay in time"
NO_ANSWER: Final = "the payment service did not answer"
CANCELLED: Final = "the customer cancelled the payment at the kiosk"
#: the steps where the shopper waits at the kiosk (the payment is being made or offered)
WAITING: Final = frozenset({Step.CREATING, Step.PENDING})
NO_RECEIPT: Final = "the receipt could not be printed"
#: register answers after which the request may or may not have run: ask for the same uuid again
OUTCOME_UNKNOWN: Final = frozenset({"unavailable", "bad_answer", "unknown_uuid"})
_RECEIPTS: Final = uuidlib.UUID("6f1d2b40-9c1e-4d7a-8f55-2f0e8a1c5b01")


def receipt_uuid(attempt_id: str, n: int) -> str:
    """The uuid of the ``n``-th receipt request of an attempt: the same after any restart."""
    return str(uuidlib.uuid5(_RECEIPTS, f"{attempt_id}:receipt:{n}"))


@dataclass(frozen=True, slots=True, kw_only=True)
class Attempt:
    """One payment attempt as the ``payments`` table holds it."""

    id: str
    basket_id: str
    method: str
    amount: int
    step: Step
    started: float = 0.0
    started_mono: Mono | None = None
    payment: ProviderPayment | None = None  # the provider's payment, as last seen
    message: str = ""
    receipt: ReceiptRequest | None = None

    @classmethod
    def from_row(cls, row: PaymentRecord) -> Attempt:
        return cls(
            id=row.id,
            basket_id=row.basket_id,
            method=row.method,
            amount=row.amount,
            step=Step(row.step),
            started=row.started,
            started_mono=row.started_mono,
            payment=row.payment,
            message=row.message,
            receipt=row.receipt,
        )

    def record(self) -> PaymentRecord:
        return PaymentRecord(
            id=self.id,
            basket_id=self.basket_id,
            method=self.method,
            amount=self.amount,
            step=self.step.value,
            started=self.started,
            started_mono=self.started_mono,
            payment=self.payment,
            message=self.message,
            receipt=self.receipt,
        )

    @property
    def provider_id(self) -> str:
        if self.payment is None:
            raise ValueError(f"payment {self.id}: the provider has no payment yet")
        return self.payment.id

    @property
    def status(self) -> str | None:
        return self.payment.status if self.payment else None


@dataclass(frozen=True, slots=True, kw_only=True)
class BasketFacts:
    """What the steps need to know of the basket (None of it when the basket is not live here)."""

    live: bool = False
    paid: bool = False
    customer: str | None = None
    hold_id: str | None = None
    lines: tuple[tuple[int, str], ...] = ()  # (amount after discount, category)
    stale_holds: tuple[str, ...] = ()  # holds taken for this basket that its lines no longer carry
    fiscal: bool = False  # the lane has a fiscal register: a receipt before the sale is final


# -- what a step needs done -------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Call:
    service: str
    op: str
    data: Mapping[str, object]
    key: str | None = None  # idempotency key (None: a read, safe to repeat)


@dataclass(frozen=True, slots=True)
class Calls:
    """Several calls in order; the answer is the last one's (the first refusal stops them)."""

    calls: tuple[Call, ...]


@dataclass(frozen=True, slots=True)
class AwaitCustomer:
    """Wait until the customer has acted on ``provider_id`` or ``deadline`` (epoch s) passed."""

    provider_id: str
    deadline: float


@dataclass(frozen=True, slots=True)
class Fiscalize:
    """Print the basket's receipt as request ``uuid`` (at most once), after ``pause_s``."""

    uuid: str
    pause_s: float = 0.0


Action = Call | Calls | AwaitCustomer | Fiscalize


# -- what came back ---------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Accrued:
    """Central's accrual answered: the points the sale earned."""

    points: int


@dataclass(frozen=True, slots=True)
class Ok:
    #: the provider's payment (create, get, capture, cancel, the customer's wait), a refund,
    #: the printed receipt's document, or None (loyalty calls)
    result: ProviderPayment | Refund | FiscalDocument | Accrued | None = None


@dataclass(frozen=True, slots=True)
class Refused:
    code: str
    message: str
    payment: ProviderPayment | None = None  # the payment as the refusal shows it


Answer = Ok | Refused


@dataclass(frozen=True, slots=True)
class Transition:
    step: Step
    payment: ProviderPayment | None = None  # None: keep the one known
    message: str = ""
    journal: PaymentResult | Close | None = None  # the basket command written with the step
    alert: tuple[str, Mapping[str, object]] | None = None  # an event type and its data
    receipt: ReceiptRequest | None = None  # None: keep the one known
    #: the kiosk's outcome when its wait ends here (paid, declined, timeout); None: go on
    result: str | None = None


def reason_code(message: str) -> str | None:
    """A stable code for why an attempt did not pay, for the kiosk's words (never its English):
    timeout, no_answer, cancelled, no_receipt, the provider's decline reason (its own code:
    insufficient_funds, …), or declined; None for no message."""
    if not message:
        return None
    for code, said in (("timeout", TOO_SLOW), ("no_answer", NO_ANSWER), ("cancelled", CANCELLED)):
        if message.startswith(said):
            return code
    if message.startswith(NO_RECEIPT):
        return "no_receipt"
    word = message.split(":", 1)[0].strip()
    return word if word.replace("_", "").isalnum() and word.isascii() and word.islower() else "declined"


def final_result(step: Step) -> str:
    """The kiosk's word for an attempt that ended: paid, declined or refunded."""
    return {Step.DONE: "paid", Step.FAILED: "declined"}.get(step, step.value)
