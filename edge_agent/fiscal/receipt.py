"""A paid basket as the ATOL ``sell`` task, and a return as ``sellReturn``: pure, typed.

Money is integer kopecks until ``_rub`` at the JSON edge. Unmarked lines of one product at
one price become one position with a quantity; every marked item is its own position with
its code (``imcParams``: the code, the estimated status, the register's check result, tag
2106) and the permissive-mode answer (``industryInfo``, tag 1260 with 1265 ``UUID=…&Time=…``).
VAT comes from the category (2026 rates: ``vat22`` by default, ``vat10`` for the reduced
list, ...), the tax system and the operator from the configuration. The sum of the positions
is the paid amount, or the builder refuses (``ReceiptError``). Shapes: ATOL's
JSON-task documentation and FFD 1.2, as docs/fiscal.md gives them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Final, Literal

from edge_agent.basket import Line
from edge_agent.errors import EdgeError
from edge_agent.fiscal.marks import EstimatedStatus, imc
from edge_agent.verify.policy import FISCAL_1262, FISCAL_1263, FISCAL_1264

Taxation = Literal["osn", "usnIncome", "usnIncomeOutcome", "esn", "patent"]
VAT_TYPES: Final = frozenset({"none", "vat0", "vat5", "vat7", "vat10", "vat22", "vat105", "vat107", "vat110", "vat122"})
#: tag 1212: 33 "a good with a mark code" for marked lines, 1 "a good" otherwise [unverified: docs/fiscal.md]
MARKED_OBJECT, PLAIN_OBJECT = "commodityWithMarking", "commodity"
#: 1263 in ATOL's date format (yyyy.mm.dd)
_BASE_DATE: Final = ".".join(reversed(FISCAL_1263.split(".")))


class ReceiptError(EdgeError):
    """A receipt that must not be printed (a marked line without its check, sums that differ)."""


@dataclass(frozen=True, slots=True)
class ReceiptRules:
    """What the configuration says about every receipt of this store."""

    operator: str = "SCO"
    operator_vatin: str | None = None
    taxation: Taxation = "osn"
    vat_default: str = "vat22"
    vat_by_category: Mapping[str, str] = field(default_factory=dict)
    #: send the receipt electronically (to the customer's phone/e-mail) rather than print it
    electronically: bool = False

    def vat(self, category: str) -> str:
        return self.vat_by_category.get(category, self.vat_default)

    def operator_block(self) -> dict[str, str]:
        out = {"name": self.operator}
        if self.operator_vatin:
            out["vatin"] = self.operator_vatin
        return out


@dataclass(frozen=True, slots=True)
class Tender:
    """One payment of the receipt: ``kind`` as ATOL names it (electronically, cash, prepaid...)."""

    kop: int
    kind: str = "electronically"


def _rub(kop: int) -> float:
    return round(kop / 100, 2)


def _position(lines: Sequence[Line], rules: ReceiptRules, status: EstimatedStatus) -> dict[str, Any]:
    first = lines[0]
    unit = first.amount
    pos: dict[str, Any] = {
        "type": "position",
        "name": first.name,
        "price": _rub(unit),
        "quantity": len(lines),
        "amount": _rub(unit * len(lines)),
        "measurementUnit": "piece",
        "paymentMethod": "fullPayment",
        "tax": {"type": rules.vat(first.category)},
        "paymentObject": MARKED_OBJECT if first.marked else PLAIN_OBJECT,
    }
    if not first.marked:
        return pos
    if first.mark_code is None:
        raise ReceiptError("unmarked_code", f"line {first.id} ({first.name}) is marked but has no mark code")
    if first.kkt is None:
        raise ReceiptError("unchecked_code", f"line {first.id} ({first.name}): the register has not checked its code")
    bits = first.kkt.to_dict()["itemInfoCheckResult"]
    pos["imcParams"] = {
        "imcType": "auto",
        "imc": imc(first.mark_code),
        "itemEstimatedStatus": status,
        "imcModeProcessing": 0,
        "itemInfoCheckResult": bits,
    }
    if first.fiscal_1265 is not None:  # no answer from any service (assisted sale): no 1260
        pos["industryInfo"] = [
            {"fois": FISCAL_1262, "date": _BASE_DATE, "number": FISCAL_1264, "industryAttribute": first.fiscal_1265}
        ]
    return pos


def positions(
    lines: Iterable[Line], rules: ReceiptRules, status: EstimatedStatus = "itemPieceSold"
) -> list[dict[str, Any]]:
    """Marked items one by one; the rest grouped by product and price, in basket order."""
    groups: dict[tuple[Any, ...], list[Line]] = {}
    for line in lines:
        key = ("line", line.id) if line.marked else ("product", line.gtin, line.name, line.amount, line.category)
        groups.setdefault(key, []).append(line)
    return [_position(group, rules, status) for group in groups.values()]


def _task(
    kind: str,
    lines: Sequence[Line],
    tenders: Sequence[Tender],
    rules: ReceiptRules,
    *,
    contact: str | None,
    status: EstimatedStatus,
) -> dict[str, Any]:
    if not lines:
        raise ReceiptError("empty_receipt", "a receipt needs at least one line")
    total = sum(line.amount for line in lines)
    paid = sum(t.kop for t in tenders)
    if paid != total or any(t.kop <= 0 for t in tenders):
        raise ReceiptError("sum_mismatch", f"payments {paid} kop for positions of {total} kop")
    task: dict[str, Any] = {
        "type": kind,
        "taxationType": rules.taxation,
        "electronically": rules.electronically,
        "operator": rules.operator_block(),
        "items": positions(lines, rules, status),
        "payments": [{"type": t.kind, "sum": _rub(t.kop)} for t in tenders],
    }
    if contact:
        task["clientInfo"] = {"emailOrPhone": contact}
    return task


def sell_task(
    lines: Sequence[Line], tenders: Sequence[Tender], rules: ReceiptRules, contact: str | None = None
) -> dict[str, Any]:
    """The ``sell`` receipt of a paid basket's lines."""
    return _task("sell", lines, tenders, rules, contact=contact, status="itemPieceSold")


def return_task(
    lines: Sequence[Line], tenders: Sequence[Tender], rules: ReceiptRules, contact: str | None = None
) -> dict[str, Any]:
    """The ``sellReturn`` receipt of the returned lines of a past sale (``itemPieceReturn``)."""
    return _task("sellReturn", lines, tenders, rules, contact=contact, status="itemPieceReturn")


def kopecks(rub: float) -> int:
    """An amount of a receipt's JSON back in kopecks (for reconciliation)."""
    return round(rub * 100)


def receipt_qr(fiscal: Mapping[str, Any], total_kop: int, kind: int = 1) -> str:
    """The receipt's QR text (54-ФЗ): t=date-time, s=sum, fn, i=FD number, fp, n=1 sell / 2 return."""
    at = datetime.fromisoformat(str(fiscal["fiscalDocumentDateTime"]))
    return (
        f"t={at:%Y%m%dT%H%M}&s={total_kop // 100}.{total_kop % 100:02d}&fn={fiscal['fnNumber']}"
        f"&i={fiscal['fiscalDocumentNumber']}&fp={fiscal['fiscalDocumentSign']}&n={kind}"
    )
