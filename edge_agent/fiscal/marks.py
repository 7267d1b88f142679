"""The ККТ's own check of a mark code (FFD 1.2), pure: what the answers mean.

A marked item is checked on the register before it is sold: ``beginMarkingCodeValidation``
(``fiscal/atol_tasks.py`` builds it), then ``getMarkingCodeValidationStatus`` until ready, then
``acceptMarkingCode`` or ``declineMarkingCode``. The answer's ``itemInfoCheckResult`` is tag 2106 (five bits) and goes
into the receipt's position with the code (docs/fiscal.md, after ATOL's JSON-task documentation).
"""

from __future__ import annotations

import base64
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final, Literal

from edge_agent.errors import EdgeError

#: tag 2003: a piece (or a part of a pack) sold or returned, a weighed item sold or returned
EstimatedStatus = Literal["itemPieceSold", "itemPieceReturn", "itemDryForSale", "itemDryReturn"]
#: the five booleans of tag 2106, bit 0 first
BITS_2106: Final = ("imcCheckFlag", "imcCheckResult", "imcStatusInfo", "imcEstimatedStatusCorrect", "ecrStandAloneFlag")
OPERATOR_OK: Final = "itemEstimatedStatusCorrect"


class MeasureError(EdgeError):
    """A quantity no sale can have: a part of a pack that is not less than the pack, a zero."""


@dataclass(frozen=True, slots=True)
class Measure:
    """How much of one marked item a sale (or return) takes: a piece, a weight in grams (tag
    2108 kilogram, 2003 ``itemDryForSale``), or a part of a pack, numerator and denominator
    (tag 1291 with 1293/1294; ATOL's ``itemFractionalAmount`` "n/d"): 0 < n < d."""

    grams: int | None = None
    part: tuple[int, int] | None = None

    def __post_init__(self) -> None:
        if self.grams is not None and self.part is not None:
            raise MeasureError("bad_measure", "an item is sold by weight or by part of a pack, not both")
        if self.grams is not None and not 0 < self.grams <= 1_000_000:
            raise MeasureError("bad_weight", f"a weight of {self.grams} g")
        if self.part is not None:
            n, d = self.part
            if not (isinstance(n, int) and isinstance(d, int) and 0 < n < d):
                raise MeasureError("bad_part", f"a part {n}/{d} of a pack: 0 < numerator < denominator")

    def status(self, sale: bool = True) -> EstimatedStatus:
        if self.grams is not None:
            return "itemDryForSale" if sale else "itemDryReturn"
        return "itemPieceSold" if sale else "itemPieceReturn"

    @property
    def unit(self) -> Literal["piece", "kilogram"]:
        return "kilogram" if self.grams is not None else "piece"

    @property
    def quantity(self) -> float:
        """The quantity the register is told (kilograms to the gram; 1 for a piece or a part,
        whose fraction goes separately)."""
        return round(self.grams / 1000, 3) if self.grams is not None else 1

    @property
    def fraction(self) -> str | None:
        return None if self.part is None else f"{self.part[0]}/{self.part[1]}"


PIECE: Final = Measure()


class CheckAnswerError(ValueError):
    """The register's validation answer is not of the documented shape."""


def imc(code: str) -> str:
    """The mark code as the ATOL tasks carry it: Base64 of its bytes, separators included."""
    return base64.b64encode(code.encode()).decode()


@dataclass(frozen=True, slots=True)
class MarkCheck:
    """What the register answered for one code."""

    bits: Mapping[str, bool]  # itemInfoCheckResult, tag 2106
    operator_status: str | None  # markOperatorItemStatus; None: the ФН alone checked (no ОИСМ answer)
    operator_result: str | None = None  # markOperatorResponseResult

    @property
    def tag_2106(self) -> int:
        return sum(1 << n for n, name in enumerate(BITS_2106) if self.bits.get(name))

    @property
    def offline(self) -> bool:
        return bool(self.bits.get("ecrStandAloneFlag"))

    def refusal(self) -> str | None:
        """Why the item may not be sold on this register, or None when it may."""
        if not self.bits.get("imcCheckResult"):
            return "the register could not verify the mark code's crypto tail"
        if self.operator_status == "itemSaleStopped":
            return "the mark operator stopped the sale of this item"
        if self.operator_status is not None and self.operator_status != OPERATOR_OK:
            return "the mark operator says this item cannot be sold (status incorrect)"
        if self.operator_status is None and not self.offline:
            return "the register has no answer from the mark operator"
        return None

    def to_dict(self) -> dict[str, object]:
        bits = {name: bool(self.bits.get(name)) for name in BITS_2106}
        return {
            "itemInfoCheckResult": bits,
            "markOperatorItemStatus": self.operator_status,
            "markOperatorResponseResult": self.operator_result,
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> MarkCheck:
        return cls(dict(d["itemInfoCheckResult"]), d.get("markOperatorItemStatus"), d.get("markOperatorResponseResult"))


def read_status(result: Mapping[str, Any]) -> MarkCheck | None:
    """A ``getMarkingCodeValidationStatus`` result: the check, or None while not ready."""
    if not isinstance(result, Mapping) or not isinstance(result.get("ready"), bool):
        raise CheckAnswerError(f"not a validation status: {str(result)[:200]}")
    if not result["ready"]:
        return None
    online = result.get("onlineValidation")
    if not isinstance(online, Mapping):
        raise CheckAnswerError("a ready validation without onlineValidation")
    bits = online.get("itemInfoCheckResult")
    if not isinstance(bits, Mapping) or not all(isinstance(bits.get(name), bool) for name in BITS_2106):
        raise CheckAnswerError(f"itemInfoCheckResult must hold the five booleans {', '.join(BITS_2106)}")
    status = online.get("markOperatorItemStatus")
    if status is not None and not isinstance(status, str):
        raise CheckAnswerError("markOperatorItemStatus must be a string")
    response = online.get("markOperatorResponseResult")
    return MarkCheck({name: bits[name] for name in BITS_2106}, status, response if isinstance(response, str) else None)
