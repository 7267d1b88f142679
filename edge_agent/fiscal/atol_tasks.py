"""The shop's fiscal values as ATOL's JSON tasks (``sell``, ``sellReturn``, the mark check's
``beginMarkingCodeValidation``) and ATOL's ``fiscalParams`` back as a fiscal document: the
ATOL driver's wire edge, pure (docs/fiscal.md, after ATOL's JSON-task documentation).

Money leaves kopecks here, as roubles with two decimals. Every marked item is its own
position with its code (``imcParams``: the code as Base64, the estimated status, tag 2106)
and the permissive-mode answer (``industryInfo``, tag 1260 with 1265).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from edge_agent.basket import Line
from edge_agent.egais.cheque import UtmAnswer
from edge_agent.fiscal.document import FiscalDocument
from edge_agent.fiscal.marks import PIECE, EstimatedStatus, Measure, imc
from edge_agent.fiscal.receipt import Position, Receipt, ReceiptRules, Tender, return_receipt, sell_receipt

#: tag 1212: 33 "a good with a mark code" for marked lines, 1 "a good" otherwise [unverified: docs/fiscal.md]
MARKED_OBJECT, PLAIN_OBJECT = "commodityWithMarking", "commodity"


def _rub(kop: int) -> float:
    return round(kop / 100, 2)


def position_json(p: Position) -> dict[str, Any]:
    pos: dict[str, Any] = {
        "type": "position",
        "name": p.name,
        "price": _rub(p.price),
        "quantity": p.measure.quantity if p.measure.grams else p.quantity,
        "amount": _rub(p.amount),
        "measurementUnit": p.measure.unit,
        "paymentMethod": "fullPayment",
        "tax": {"type": p.vat},
        "paymentObject": MARKED_OBJECT if p.marked else PLAIN_OBJECT,
    }
    if p.mark is None:
        return pos
    pos["imcParams"] = {
        "imcType": "auto",
        "imc": imc(p.mark.code),
        "itemEstimatedStatus": p.mark.status,
        "imcModeProcessing": 0,
        "itemInfoCheckResult": p.mark.check.to_dict()["itemInfoCheckResult"],
    } | _quantity(p.mark.measure)
    doc = p.mark.foundation
    if p.mark.industry_1265 is not None and doc is not None:  # no service answered (assisted sale): no 1260
        # 1263 in ATOL's date format (yyyy.mm.dd)
        info = {"fois": doc.foiv, "date": doc.issued.strftime("%Y.%m.%d"), "number": doc.number}
        pos["industryInfo"] = [info | {"industryAttribute": p.mark.industry_1265}]
    return pos


def receipt_task(r: Receipt) -> dict[str, Any]:
    operator = {"name": r.operator} | ({"vatin": r.operator_vatin} if r.operator_vatin else {})
    task: dict[str, Any] = {
        "type": r.kind,
        "taxationType": r.taxation,
        "electronically": r.electronically,
        "operator": operator,
        "items": [position_json(p) for p in r.positions] + _egais_items(r.egais),
        "payments": [{"type": t.kind, "sum": _rub(t.kop)} for t in r.tenders],
    }
    if r.contact:
        task["clientInfo"] = {"emailOrPhone": r.contact}
    return task


def _egais_items(egais: tuple[str, str] | None) -> list[dict[str, Any]]:
    """ЕГАИС's answer on the receipt: its sign printed in groups of four, its url as a QR."""
    if egais is None:
        return []
    answer = UtmAnswer(*egais)
    return [
        {"type": "text", "text": f"ЕГАИС: {answer.printed_sign}"},
        {"type": "barcode", "barcode": answer.url, "barcodeType": "QR", "scale": 2},
    ]


def sell_task(
    lines: Sequence[Line], tenders: Sequence[Tender], rules: ReceiptRules, contact: str | None = None
) -> dict[str, Any]:
    """The ``sell`` task of a paid basket's lines."""
    return receipt_task(sell_receipt(lines, tenders, rules, contact))


def return_task(
    lines: Sequence[Line], tenders: Sequence[Tender], rules: ReceiptRules, contact: str | None = None
) -> dict[str, Any]:
    """The ``sellReturn`` task of the returned lines of a past sale."""
    return receipt_task(return_receipt(lines, tenders, rules, contact))


def _quantity(measure: Measure) -> dict[str, Any]:
    """The quantity of a marked item as ATOL's ``imcParams`` and mark check carry it: kilograms
    for a weighed item, 1 piece otherwise, and a part of a pack as ``itemFractionalAmount``."""
    out: dict[str, Any] = {"itemQuantity": measure.quantity, "itemUnits": measure.unit}
    if measure.fraction is not None:
        out["itemFractionalAmount"] = measure.fraction
    return out


def begin_task(code: str, status: EstimatedStatus = "itemPieceSold", measure: Measure = PIECE) -> dict[str, Any]:
    return {
        "type": "beginMarkingCodeValidation",
        "params": {
            "imcType": "auto",
            "imc": imc(code),
            "itemEstimatedStatus": status,
            "imcModeProcessing": 0,
        }
        | _quantity(measure),
    }


def fiscal_document(result: Mapping[str, Any]) -> FiscalDocument:
    """A task's ``fiscalParams`` (a receipt or a shift report) as the fiscal document."""
    params = result.get("fiscalParams")
    return FiscalDocument.from_json(params if isinstance(params, Mapping) else {})
