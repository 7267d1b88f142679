"""The payment provider's answers as central relays them (docs/mqtt.md, ``payment.*``),
parsed where they arrive: a payment and a refund. The JSON shape is the provider's (after
YooKassa's payment object); ``to_json`` writes back the part the agent keeps, so a stored
attempt reads back as it was.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final, TypeVar

from edge_agent.errors import EdgeError

#: the provider's states as central names them
STATUSES: Final = frozenset({"PENDING_CUSTOMER", "AUTHORIZED", "CAPTURED", "CANCELED"})


class AnswerError(EdgeError):
    """An answer of central that is not of the documented shape."""


T = TypeVar("T")


def required(data: Mapping[str, object], key: str, kind: type[T]) -> T:
    """``data[key]`` when it is a ``kind`` (a non-empty string, a number that is not a bool);
    ``AnswerError`` otherwise (central's answers, parsed where they arrive)."""
    value = data.get(key)
    if not isinstance(value, kind) or isinstance(value, bool) is not (kind is bool) or value == "":
        raise AnswerError("bad_answer", f"the answer's {key!r} is not {kind.__name__}: {str(data)[:200]}")
    return value


def _sub(data: Mapping[str, object], key: str) -> Mapping[str, object]:
    value = data.get(key)
    return value if isinstance(value, Mapping) else {}


@dataclass(frozen=True, slots=True, kw_only=True)
class ProviderPayment:
    id: str
    status: str  # one of STATUSES (another is kept as it came and treated as not paid)
    amount: int  # kopecks
    method: str | None = None
    qr: str | None = None  # SBP: the QR's payload for the customer's bank app
    cancel_reason: str | None = None  # CANCELED: why (insufficient_funds, expired_on_confirmation, ...)

    @property
    def paid(self) -> bool:
        return self.status in ("AUTHORIZED", "CAPTURED")

    @classmethod
    def from_json(cls, data: Mapping[str, object]) -> ProviderPayment:
        qr = _sub(data, "confirmation").get("confirmation_data")
        reason = _sub(data, "cancellation_details").get("reason")
        method = data.get("method")
        return cls(
            id=required(data, "id", str),
            status=required(data, "status", str),
            amount=required(data, "amount", int),
            method=method if isinstance(method, str) else None,
            qr=qr if isinstance(qr, str) else None,
            cancel_reason=reason if isinstance(reason, str) else None,
        )

    def to_json(self) -> dict[str, object]:
        out: dict[str, object] = {"id": self.id, "status": self.status, "amount": self.amount}
        if self.method is not None:
            out["method"] = self.method
        if self.qr is not None:
            out["confirmation"] = {"type": "qr", "confirmation_data": self.qr}
        if self.cancel_reason is not None:
            out["cancellation_details"] = {"reason": self.cancel_reason}
        return out


@dataclass(frozen=True, slots=True, kw_only=True)
class Refund:
    id: str
    amount: int  # kopecks
    payment: ProviderPayment | None  # the payment after the refund, when central says

    @classmethod
    def from_json(cls, data: Mapping[str, object]) -> Refund:
        payment = data.get("payment")
        return cls(
            id=required(data, "id", str),
            amount=required(data, "amount", int),
            payment=ProviderPayment.from_json(payment) if isinstance(payment, Mapping) else None,
        )

    def to_json(self) -> dict[str, object]:
        out: dict[str, object] = {"id": self.id, "amount": self.amount}
        if self.payment is not None:
            out["payment"] = self.payment.to_json()
        return out


def payment_answer(op: str, data: Mapping[str, object]) -> ProviderPayment | Refund:
    """A ``payment.*`` answer of central parsed by its operation (``AnswerError`` when it is not
    of the documented shape)."""
    return Refund.from_json(data) if op == "refund" else ProviderPayment.from_json(data)
