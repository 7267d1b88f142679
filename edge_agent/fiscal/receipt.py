"""A paid basket as a ``sell`` receipt, and a return as ``sellReturn``, in the shop's terms: pure.

Money is integer kopecks (each register's driver writes it its own way, as
``fiscal/atol_tasks.py`` does for ATOL). Unmarked lines of one product at
one price become one position with a quantity; every marked item is its own position with
its code (the code, the estimated status, the register's check result, tag 2106) and the
permissive-mode answer (tag 1260 with 1265 ``UUID=…&Time=…``).
VAT comes from the category (2026 rates: ``vat22`` by default, ``vat10`` for the reduced
list, ...), the tax system and the operator from the configuration. The sum of the positions
is the paid amount, or the builder refuses (``ReceiptError``). Requisites: FFD 1.2, as
docs/fiscal.md gives them.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Final, Literal

from edge_agent.basket import Line
from edge_agent.errors import EdgeError
from edge_agent.fiscal.marks import PIECE, EstimatedStatus, MarkCheck, Measure
from edge_agent.fiscal.requisites import Foundation, FoundationDocument

Taxation = Literal["osn", "usnIncome", "usnIncomeOutcome", "esn", "patent"]
VAT_TYPES: Final = frozenset({"none", "vat0", "vat5", "vat7", "vat10", "vat22", "vat105", "vat107", "vat110", "vat122"})


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
    #: tag 1260's decree by the day of each line's check (``[[fiscal.foundation]]``)
    foundation: Foundation = field(default_factory=Foundation)

    def vat(self, category: str) -> str:
        return self.vat_by_category.get(category, self.vat_default)


@dataclass(frozen=True, slots=True)
class Tender:
    """One payment of the receipt: ``kind`` as ATOL names it (electronically, cash, prepaid...)."""

    kop: int
    kind: str = "electronically"


@dataclass(frozen=True, slots=True, kw_only=True)
class PositionMark:
    """A marked position's code, the status it is sold (or returned) in, the register's check
    (tag 2106) and the permissive-mode answer (tag 1265; None: no service answered) with the
    decree it was checked under (1262–1264, by the day of the check)."""

    code: str
    status: EstimatedStatus
    check: MarkCheck
    industry_1265: str | None = None
    foundation: FoundationDocument | None = None
    measure: Measure = PIECE  # how much of the item: a piece, a weight, a part of its pack


@dataclass(frozen=True, slots=True, kw_only=True)
class Position:
    name: str
    price: int  # kopecks per unit (per kilogram for a weighed item; the part's price for a part of a pack)
    quantity: int
    vat: str
    marked: bool
    mark: PositionMark | None = None
    measure: Measure = PIECE
    #: a weighed item's amount (its weight at ``price`` a kilogram, less any discount)
    total: int | None = None

    @property
    def amount(self) -> int:
        return self.total if self.total is not None else self.price * self.quantity


@dataclass(frozen=True, slots=True, kw_only=True)
class Receipt:
    """A receipt in the shop's terms; a register's driver turns it into its own wire format."""

    kind: Literal["sell", "sellReturn"]
    positions: tuple[Position, ...]
    tenders: tuple[Tender, ...]
    taxation: Taxation
    operator: str
    operator_vatin: str | None = None
    electronically: bool = False
    contact: str | None = None  # the customer's phone or e-mail (tag 1008)
    #: ЕГАИС's answer for the stamped bottles: its url (a QR on the receipt) and sign (printed)
    egais: tuple[str, str] | None = None

    @property
    def total(self) -> int:
        return sum(p.amount for p in self.positions)


def _position(lines: Sequence[Line], rules: ReceiptRules, sale: bool) -> Position:
    first = lines[0]
    measure, status = first.measure, first.measure.status(sale)
    mark = None
    if first.marked:
        if first.mark_code is None:
            raise ReceiptError("unmarked_code", f"line {first.id} ({first.name}) is marked but has no mark code")
        if first.kkt is None:
            raise ReceiptError(
                "unchecked_code", f"line {first.id} ({first.name}): the register has not checked its code"
            )
        tag_1265 = first.fiscal_1265
        mark = PositionMark(
            code=first.mark_code,
            status=status,
            check=first.kkt,
            industry_1265=tag_1265,
            foundation=rules.foundation.document(tag_1265) if tag_1265 is not None else None,
            measure=measure,
        )
    weighed = measure.grams is not None and first.unit_price is not None
    return Position(
        name=first.name,
        price=first.unit_price if weighed and first.unit_price is not None else first.amount,
        quantity=len(lines),
        vat=rules.vat(first.category),
        marked=first.marked,
        mark=mark,
        measure=measure,
        total=first.amount if weighed else None,
    )


def positions(lines: Iterable[Line], rules: ReceiptRules, sale: bool = True) -> list[Position]:
    """Marked, weighed and part-of-a-pack items one by one; the rest grouped by product and
    price, in basket order."""
    groups: dict[tuple[object, ...], list[Line]] = {}
    for line in lines:
        alone = line.marked or line.grams is not None or line.part is not None
        key = ("line", line.id) if alone else ("product", line.gtin, line.name, line.amount, line.category)
        groups.setdefault(key, []).append(line)
    return [_position(group, rules, sale) for group in groups.values()]


def _receipt(
    kind: Literal["sell", "sellReturn"],
    lines: Sequence[Line],
    tenders: Sequence[Tender],
    rules: ReceiptRules,
    *,
    contact: str | None,
    sale: bool,
    egais: tuple[str, str] | None = None,
) -> Receipt:
    if not lines:
        raise ReceiptError("empty_receipt", "a receipt needs at least one line")
    total = sum(line.amount for line in lines)
    paid = sum(t.kop for t in tenders)
    if paid != total or any(t.kop <= 0 for t in tenders):
        raise ReceiptError("sum_mismatch", f"payments {paid} kop for positions of {total} kop")
    return Receipt(
        kind=kind,
        positions=tuple(positions(lines, rules, sale)),
        tenders=tuple(tenders),
        taxation=rules.taxation,
        operator=rules.operator,
        operator_vatin=rules.operator_vatin,
        electronically=rules.electronically,
        contact=contact or None,
        egais=egais,
    )


def sell_receipt(
    lines: Sequence[Line],
    tenders: Sequence[Tender],
    rules: ReceiptRules,
    contact: str | None = None,
    *,
    egais: tuple[str, str] | None = None,
) -> Receipt:
    """The ``sell`` receipt of a paid basket's lines (``egais``: the УТМ's url and sign)."""
    return _receipt("sell", lines, tenders, rules, contact=contact, sale=True, egais=egais)


def return_receipt(
    lines: Sequence[Line],
    tenders: Sequence[Tender],
    rules: ReceiptRules,
    contact: str | None = None,
    *,
    egais: tuple[str, str] | None = None,
) -> Receipt:
    """The ``sellReturn`` receipt of the returned lines of a past sale (``itemPieceReturn``,
    ``itemDryReturn`` for a weighed item)."""
    return _receipt("sellReturn", lines, tenders, rules, contact=contact, sale=False, egais=egais)


def kopecks(rub: float) -> int:
    """An amount of a receipt's JSON back in kopecks (for reconciliation)."""
    return round(rub * 100)
