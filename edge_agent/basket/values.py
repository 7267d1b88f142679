"""The basket's values: products, problems, lines and their resolutions, immutable (the state
machine, ``machine.py``, replaces them, never changes them)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time
from typing import Literal
from zoneinfo import ZoneInfo

from edge_agent.fiscal.marks import MarkCheck

Level = Literal["MEDIUM", "CRITICAL"]


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

    @property
    def amount(self) -> int:
        return self.price - self.discount


@dataclass(frozen=True, slots=True)
class AgeProof:
    """The last age document the shopper showed (the kiosk says what became of it; the audit
    keeps every one in the journal): no personal data, only the decision."""

    outcome: str  # accepted / refused / unavailable
    reason: str
    age_over: int
    method: str  # digital_id
    at: datetime
