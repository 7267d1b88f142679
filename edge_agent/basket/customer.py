"""The customer's own basket commands: who they are (loyalty), their points as discounts, the
age they proved with a document, and how much of a pack they take. Journal forms as in ``commands.py``."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar

from edge_agent.basket.machine import Basket
from edge_agent.basket.values import AgeProof, Line


@dataclass(frozen=True, slots=True, kw_only=True)
class Identify:
    op: ClassVar[str] = "identify"
    customer: str
    #: the phone number the customer typed (the electronic receipt goes there), if that is how
    contact: str | None = None
    #: with a possession factor (a one-time code, the app's signed QR); older journals: without
    verified: bool = False

    def apply(self, basket: Basket) -> None:
        basket.identify(self.customer, self.contact, self.verified)

    def args(self) -> dict[str, object]:
        return (
            {"customer": self.customer}
            | ({"contact": self.contact} if self.contact else {})
            | ({"verified": True} if self.verified else {})
        )

    @classmethod
    def from_args(cls, a: dict[str, Any]) -> Identify:
        return cls(customer=a["customer"], contact=a.get("contact"), verified=bool(a.get("verified", False)))


@dataclass(frozen=True, slots=True, kw_only=True)
class Discount:
    """Loyalty points held centrally, spread over the lines as discounts (line id → kopecks)."""

    op: ClassVar[str] = "discount"
    allocation: dict[int, int]
    hold_id: str
    points: int | None = None

    def apply(self, basket: Basket) -> None:
        basket.apply_discount(self.allocation, self.hold_id)

    def args(self) -> dict[str, object]:
        allocation = {str(k): v for k, v in self.allocation.items()}
        out: dict[str, object] = {"allocation": allocation, "hold_id": self.hold_id}
        if self.points is not None:
            out["points"] = self.points
        return out

    @classmethod
    def from_args(cls, a: dict[str, Any]) -> Discount:
        return cls(
            allocation={int(k): v for k, v in a["allocation"].items()}, hold_id=a["hold_id"], points=a.get("points")
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class AgeChecked:
    """The shopper showed an age document at the lane (``edge_agent/age``): the decision only."""

    op: ClassVar[str] = "age_checked"
    proof: AgeProof
    device: str
    ref: str = ""  # a digest of the token's single-use id

    def apply(self, basket: Basket) -> int:
        return basket.age_checked(self.proof, self.device)

    def args(self) -> dict[str, object]:
        p = self.proof
        return {"outcome": p.outcome, "reason": p.reason, "age_over": p.age_over, "method": p.method} | {
            "at": p.at.isoformat(),
            "device": self.device,
            "ref": self.ref,
        }

    @classmethod
    def from_args(cls, a: dict[str, Any]) -> AgeChecked:
        at = datetime.fromisoformat(a["at"])
        proof = AgeProof(a["outcome"], a["reason"], a["age_over"], a["method"], at)
        return cls(proof=proof, device=a["device"], ref=a.get("ref", ""))


@dataclass(frozen=True, slots=True, kw_only=True)
class SetPart:
    """The shopper takes ``units`` of a pack sold in parts (tag 1291): the line is repriced."""

    op: ClassVar[str] = "set_part"
    line_id: int
    units: int

    def apply(self, basket: Basket) -> Line:
        return basket.set_part(self.line_id, self.units)

    def args(self) -> dict[str, object]:
        return {"line_id": self.line_id, "units": self.units}

    @classmethod
    def from_args(cls, a: dict[str, Any]) -> SetPart:
        return cls(line_id=a["line_id"], units=a["units"])
