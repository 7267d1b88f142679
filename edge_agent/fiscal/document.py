"""A fiscal document as the register printed it: what the customer's receipt, the sale's
record and central carry of it (54-ФЗ: ФД, ФП, ФН, time, shift, receipt number). Pure.

``to_json`` and ``from_json`` keep the shape the sale's records and the ``transaction.paid``
event have always carried (ATOL's ``fiscalParams`` names, docs/fiscal.md), so older records
read unchanged; a register driver fills it from its own answer.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime


class DocumentError(ValueError):
    """A fiscal document's data is not of the documented shape."""


@dataclass(frozen=True, slots=True, kw_only=True)
class FiscalDocument:
    number: int  # ФД: the fiscal document's number on its ФН
    sign: str  # ФП: the fiscal sign
    fn: str  # the fiscal drive's serial number
    at: str  # when it was printed, ISO 8601 with the register's offset
    shift: int | None = None
    receipt_number: int | None = None  # within the shift; None for a shift report

    def qr(self, total_kop: int, kind: int = 1) -> str:
        """The receipt's QR text (54-ФЗ): t=date-time, s=sum, fn, i=FD number, fp, n=1 sell / 2 return."""
        at = datetime.fromisoformat(self.at)
        return (
            f"t={at:%Y%m%dT%H%M}&s={total_kop // 100}.{total_kop % 100:02d}&fn={self.fn}"
            f"&i={self.number}&fp={self.sign}&n={kind}"
        )

    def to_json(self) -> dict[str, object]:
        out: dict[str, object] = {
            "fiscalDocumentNumber": self.number,
            "fiscalDocumentSign": self.sign,
            "fnNumber": self.fn,
            "fiscalDocumentDateTime": self.at,
        }
        if self.shift is not None:
            out["shiftNumber"] = self.shift
        if self.receipt_number is not None:
            out["fiscalReceiptNumber"] = self.receipt_number
        return out

    @classmethod
    def from_json(cls, data: Mapping[str, object]) -> FiscalDocument:
        try:
            at = str(data["fiscalDocumentDateTime"])
            datetime.fromisoformat(at)
            shift, number = data.get("shiftNumber"), data.get("fiscalReceiptNumber")
            return cls(
                number=_int(data["fiscalDocumentNumber"]),
                sign=str(data["fiscalDocumentSign"]),
                fn=str(data["fnNumber"]),
                at=at,
                shift=None if shift is None else _int(shift),
                receipt_number=None if number is None else _int(number),
            )
        except (KeyError, TypeError, ValueError) as e:
            raise DocumentError(f"not a fiscal document: {e}") from None


def _int(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int | str):
        raise TypeError(f"{value!r} is not a number")
    return int(value)
