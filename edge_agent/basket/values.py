"""The basket's values: products, problems, lines and their resolutions, immutable (the state
machine, ``machine.py``, replaces them, never changes them)."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, time
from enum import StrEnum
from typing import Final, Literal
from zoneinfo import ZoneInfo

from edge_agent.errors import EdgeError
from edge_agent.fiscal.marks import PIECE, MarkCheck, Measure, MeasureError

Level = Literal["MEDIUM", "CRITICAL"]


class State(StrEnum):
    OPEN = "OPEN"
    SCANNING = "SCANNING"
    NEEDS_ASSISTANCE = "NEEDS_ASSISTANCE"
    CHECKOUT = "CHECKOUT"
    READY_TO_PAY = "READY_TO_PAY"
    PAYMENT_PENDING = "PAYMENT_PENDING"
    PAID = "PAID"
    CLOSED = "CLOSED"
    CANCELLED = "CANCELLED"


BEFORE_PAYMENT: Final = frozenset(
    {State.OPEN, State.SCANNING, State.NEEDS_ASSISTANCE, State.CHECKOUT, State.READY_TO_PAY}
)

#: problems that are open until staff close them but stop nothing: the shopper asked for help
#: and may go on shopping and pay meanwhile
NON_BLOCKING: Final = frozenset({"HELP_REQUESTED"})


class BasketError(EdgeError):
    """A command that the basket's state does not allow (``code`` stable, ``message`` human)."""


@dataclass(frozen=True, slots=True)
class Product:
    gtin: str
    name: str
    price: int  # kopecks
    vat: int = 20  # percent
    category: str = ""
    group: str | None = None  # Chestny Znak product group, when marked
    marked: bool = False
    min_age: int = 0
    alcohol: bool = False
    qty_limit: int | None = None
    loyalty_price: int | None = None  # kopecks with a loyalty card (a catalogue promotion), if any
    #: ``weight``: ``price`` is per kilogram and each item's weight is in its mark code (AI 310n)
    sold_by: Literal["piece", "weight"] = "piece"
    #: a marked pack of this many units that may be sold in part (tag 1291); 0: whole packs only
    pack_units: int = 0
    #: stamped strong alcohol: each bottle's excise stamp is scanned and the sale goes through ЕГАИС
    egais: bool = False
    volume_ml: int = 0  # a bottle's volume (ЕГАИС's legacy cheque names it)
    #: the product's picture: a file name in the store's images directory (``kiosk.images_dir``)
    image: str | None = None


@dataclass(frozen=True, slots=True)
class AlcoholHours:
    """No alcohol sale from ``start`` to ``end`` local time (171-FZ: 23:00-08:00; regions may widen)."""

    start: time = time(23, 0)
    end: time = time(8, 0)

    def forbidden(self, local: time) -> bool:
        if self.start <= self.end:
            return self.start <= local < self.end
        return local >= self.start or local < self.end


@dataclass(frozen=True, slots=True)
class Rules:
    tz: ZoneInfo
    alcohol_hours: AlcoholHours = AlcoholHours()


@dataclass(frozen=True, slots=True)
class Resolution:
    by: str  # staff id, or "customer" / "system"
    device: str
    at: datetime
    action: str  # approved, line_removed, paid_otherwise, ...


@dataclass(frozen=True, slots=True)
class Problem:
    id: int
    code: str
    level: Level
    line_id: int | None
    message: str
    resolution: Resolution | None = None
    min_age: int = 0  # AGE_RESTRICTED: the age the buyer must be over

    @property
    def open(self) -> bool:
        return self.resolution is None


@dataclass(frozen=True, slots=True)
class Line:
    id: int
    key: str  # the item's identity: КИ for serialized items, else GTIN
    gtin: str
    name: str
    price: int
    serialized: bool
    marked: bool
    mark_code: str | None = None
    verdict: str | None = None  # ALLOWED / BLOCKED / UNAVAILABLE once checked
    fiscal_1265: str | None = None
    category: str = ""
    discount: int = 0  # kopecks of loyalty redemption allocated to this line
    kkt: MarkCheck | None = None  # the fiscal register's own check of the mark code
    tid: str | None = None  # the chip's TID (hex) as read when it arrived, if the reader reads it
    #: a weighed item's weight (its mark code's AI 310n); ``price`` is then for that weight
    grams: int | None = None
    #: the part of a pack sold (numerator, denominator); ``price`` is then the part's
    part: tuple[int, int] | None = None
    unit_price: int | None = None  # per kilogram (weighed) or per whole pack (sold in parts)
    pack_units: int = 0  # the pack may be sold in parts of this many units
    egais: bool = False  # stamped alcohol: sold only with its excise stamp, through ЕГАИС
    stamp: str | None = None  # the bottle's excise stamp (PDF417 text), once scanned
    #: the catalogue's price with the loyalty card, on the same basis as ``unit_price`` (a piece,
    #: a kilogram, a whole pack), or None; it applies once the customer identified (``carded``)
    card_unit: int | None = None
    carded: bool = False
    image: str | None = None  # the product's picture (a file name), if the catalogue has one

    @property
    def card_price(self) -> int | None:
        """The line's price with the card (its weight or part of the card's unit price), or None."""
        if self.card_unit is None:
            return None
        if self.grams:
            return weighed_price(self.card_unit, self.grams)
        if self.part:
            n, d = self.part
            return (self.card_unit * n + d // 2) // d
        return self.card_unit

    @property
    def card_discount(self) -> int:
        """Kopecks off the price with the customer's card (the program's card price), else 0."""
        card = self.card_price
        return max(0, self.price - card) if self.carded and card is not None else 0

    @property
    def card_amount(self) -> int:
        """The price after the card discount, before points: what points may be spent on."""
        return self.price - self.card_discount

    @property
    def amount(self) -> int:
        return self.price - self.card_discount - self.discount

    def with_part(self, units: int) -> Line:
        """The line selling ``units`` of its pack (all of them: the whole pack), repriced, with
        its checks to be made again for that quantity (``MeasureError`` for a part no sale has)."""
        if self.pack_units < 2:
            raise MeasureError("not_a_pack", f"{self.name} is not sold in parts of a pack")
        if not 1 <= units <= self.pack_units:
            raise MeasureError("bad_part", f"{units} of a pack of {self.pack_units}: 1 to {self.pack_units}")
        whole = self.unit_price if self.unit_price is not None else self.price
        part = None if units == self.pack_units else (units, self.pack_units)
        price = whole if part is None else (whole * units + self.pack_units // 2) // self.pack_units
        Measure(part=part)  # validated
        again = self.marked and part != self.part
        return replace(
            self,
            part=part,
            price=price,
            unit_price=whole,
            verdict=None if again else self.verdict,
            fiscal_1265=None if again else self.fiscal_1265,
            kkt=None if again else self.kkt,
        )

    @property
    def measure(self) -> Measure:
        """How much of the item the line sells (what the register is told)."""
        return Measure(grams=self.grams, part=self.part) if self.grams or self.part else PIECE


def weighed_price(per_kg: int, grams: int) -> int:
    """Kopecks for ``grams`` at ``per_kg`` kopecks a kilogram, half a kopeck up."""
    return (per_kg * grams + 500) // 1000


@dataclass(frozen=True, slots=True)
class EgaisSale:
    """The store's УТМ accepted the basket's stamped bottles: its cheque, and what the receipt
    carries (the url as a QR, the sign printed)."""

    cheque: str
    url: str
    sign: str
    lines: tuple[int, ...]  # the stamped lines the cheque sold
    amounts: tuple[int, ...] = ()  # each one's price on the cheque (kopecks, after discounts)

    @property
    def prices(self) -> tuple[tuple[int, int], ...]:
        return tuple(zip(self.lines, self.amounts, strict=False))


@dataclass(frozen=True, slots=True)
class AgeProof:
    """The last age document the shopper showed (the kiosk says what became of it; the audit
    keeps every one in the journal): no personal data, only the decision."""

    outcome: str  # accepted / refused / unavailable
    reason: str
    age_over: int
    method: str  # digital_id
    at: datetime
