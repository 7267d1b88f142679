"""The customer's own basket commands: who they are (loyalty), their points as discounts, the
age they proved with a document, how much of a pack they take, a bottle's stamp they scan;
and ЕГАИС's answer for those bottles. Journal forms as in ``commands.py``."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, ClassVar

from edge_agent.basket.machine import Basket
from edge_agent.basket.values import AgeProof, EgaisSale, Line


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


@dataclass(frozen=True, slots=True, kw_only=True)
class BindStamp:
    """The shopper scanned a bottle's excise stamp (PDF417) at the lane."""

    op: ClassVar[str] = "bind_stamp"
    stamp: str
    at: datetime

    def apply(self, basket: Basket) -> Line:
        return basket.bind_stamp(self.stamp, self.at)

    def args(self) -> dict[str, object]:
        return {"stamp": self.stamp, "at": self.at.isoformat()}

    @classmethod
    def from_args(cls, a: dict[str, Any]) -> BindStamp:
        return cls(stamp=a["stamp"], at=datetime.fromisoformat(a["at"]))


@dataclass(frozen=True, slots=True, kw_only=True)
class EgaisAnswered:
    """The store's УТМ answered the cheque of the basket's stamped bottles: accepted (its url
    and sign, for the receipt and the sale's record), or refused / not reached."""

    op: ClassVar[str] = "egais_answered"
    cheque: str
    url: str = ""
    sign: str = ""
    lines: tuple[int, ...] = ()
    amounts: tuple[int, ...] = ()  # the bottles' prices on the cheque
    refusal: str = ""
    code: str = "EGAIS_REFUSED"  # or EGAIS_UNAVAILABLE: the УТМ did not answer

    def apply(self, basket: Basket) -> None:
        sale = EgaisSale(self.cheque, self.url, self.sign, self.lines, self.amounts) if not self.refusal else None
        basket.egais_answered(sale, self.refusal, self.code)

    def args(self) -> dict[str, object]:
        if self.refusal:
            return {"cheque": self.cheque, "refusal": self.refusal, "code": self.code}
        out: dict[str, object] = {"cheque": self.cheque, "url": self.url, "sign": self.sign, "lines": list(self.lines)}
        return out | ({"amounts": list(self.amounts)} if self.amounts else {})

    @classmethod
    def from_args(cls, a: dict[str, Any]) -> EgaisAnswered:
        return cls(
            cheque=a["cheque"],
            url=a.get("url", ""),
            sign=a.get("sign", ""),
            lines=tuple(a.get("lines", ())),
            amounts=tuple(a.get("amounts", ())),
            refusal=a.get("refusal", ""),
            code=a.get("code", "EGAIS_REFUSED"),
        )
