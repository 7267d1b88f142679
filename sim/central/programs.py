"""Loyalty program presets (docs/sources.md §3.1). The numbers are scenario presets, not
facts about any chain: the reference marks several of them unconfirmed, so each is a field."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Final


@dataclass(frozen=True, slots=True)
class Program:
    name: str
    point_value_kop: int  # 100: 1 point = 1 RUB; 10: 10 points = 1 RUB
    max_redeem_pct: int  # share of the eligible amount that points may pay
    min_redeem_points: int
    excluded_categories: frozenset[str]
    accrual_bps: int = 100  # basis points of the eligible amount, in roubles → points
    #: x5_legacy style: (threshold kop, kop per point below, kop per point at or above)
    accrual_steps: tuple[int, int, int] | None = None
    no_accrual_when_redeeming: bool = False
    hold_ttl_s: int = 900  # 15 min (docs/sources.md §3.1)

    def accrual(self, eligible_kop: int, total_kop: int, redeemed: bool) -> int:
        """Points earned on a sale whose eligible lines came to ``eligible_kop``."""
        if redeemed and self.no_accrual_when_redeeming:
            return 0
        if self.accrual_steps is not None:
            threshold, below, above = self.accrual_steps
            return eligible_kop // (below if total_kop < threshold else above)
        roubles = eligible_kop * self.accrual_bps // 10_000  # kopecks of cashback
        return roubles // self.point_value_kop

    def public(self) -> dict[str, Any]:
        out = asdict(self)
        out["excluded_categories"] = sorted(self.excluded_categories)
        return out


PRESETS: Final[dict[str, Program]] = {
    "magnit_like": Program(
        "magnit_like",
        point_value_kop=100,
        max_redeem_pct=50,
        min_redeem_points=1,
        excluded_categories=frozenset({"tobacco", "nicotine", "alcohol_mrp", "lottery"}),
        accrual_bps=100,
        no_accrual_when_redeeming=True,
    ),
    "x5_legacy": Program(
        "x5_legacy",
        point_value_kop=10,
        max_redeem_pct=100,
        min_redeem_points=1,
        excluded_categories=frozenset({"tobacco", "nicotine", "alcohol_mrp"}),
        accrual_steps=(55_500, 2_000, 1_000),
    ),
}


@dataclass(frozen=True, slots=True)
class Customer:
    id: str
    phone: str
    card: str
    qr: str
    points: int  # opening balance
    tags: tuple[str, ...] = field(default_factory=tuple)


DEMO_CUSTOMERS: Final = (
    Customer("C-0001", "+79990000001", "2900000000017", "LOY:C-0001", 500),
    Customer("C-0002", "+79990000002", "2900000000024", "LOY:C-0002", 12_000),
    Customer("C-0003", "+79990000003", "2900000000031", "LOY:C-0003", 0),
)
