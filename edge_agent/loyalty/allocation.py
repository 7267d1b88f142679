"""Loyalty redemption as line-level discounts (docs/sources.md §3.1). Pure.

Points pay for part of the basket; the fiscal receipt shows that as a discount on each line,
so the amount must be spread over the lines before payment. Lines in an excluded category get
nothing: tobacco and nicotine always (15-FZ art. 16 bans discounts on tobacco; a discount would
also move the price off the MRP), plus whatever the program excludes (alcohol with a minimum
price, lottery, promotions). The spread is proportional to the eligible lines' prices, with
the remainders handed out largest first, so the discounts add up exactly to the redeemed
kopecks and no line goes below zero.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Final

#: never discounted, whatever a program says
ALWAYS_EXCLUDED: Final = frozenset({"tobacco", "nicotine"})


@dataclass(frozen=True, slots=True)
class Allocation:
    points: int  # points redeemed
    kopecks: int  # their value: the sum of ``lines``
    lines: dict[int, int]  # line id -> discount in kopecks (eligible lines only)


def eligible_total(lines: Iterable[tuple[int, int, str]], excluded: frozenset[str]) -> int:
    return sum(price for _, price, category in lines if category not in excluded | ALWAYS_EXCLUDED)


def redeemable_points(
    lines: Sequence[tuple[int, int, str]],
    balance: int,
    *,
    point_value_kop: int,
    max_redeem_pct: int,
    excluded: frozenset[str],
) -> int:
    """The most points this basket can take: the balance, capped at ``max_redeem_pct`` of the
    eligible amount (whole points only)."""
    if point_value_kop <= 0 or balance <= 0:
        return 0
    cap = eligible_total(lines, excluded) * max(0, min(max_redeem_pct, 100)) // 100
    return max(0, min(balance, cap // point_value_kop))


def allocate(
    lines: Sequence[tuple[int, int, str]],
    points: int,
    *,
    point_value_kop: int,
    max_redeem_pct: int,
    excluded: frozenset[str],
    balance: int | None = None,
) -> Allocation:
    """Spread ``points`` (cut to what the basket can take) over the eligible lines.

    ``lines`` are (line id, price in kopecks, category)."""
    limit = redeemable_points(
        lines,
        points if balance is None else min(points, balance),
        point_value_kop=point_value_kop,
        max_redeem_pct=max_redeem_pct,
        excluded=excluded,
    )
    points = max(0, min(points, limit))
    value = points * point_value_kop
    eligible = [(i, price) for i, price, cat in lines if cat not in excluded | ALWAYS_EXCLUDED and price > 0]
    base = sum(price for _, price in eligible)
    if value == 0 or base == 0:
        return Allocation(0, 0, {})
    shares = {i: value * price // base for i, price in eligible}
    left = value - sum(shares.values())
    # largest remainder first; ties by line id, so the result does not depend on input order
    order = sorted(eligible, key=lambda lp: (-(value * lp[1] % base), lp[0]))
    for i, price in order:
        if left == 0:
            break
        if shares[i] < price:
            shares[i] += 1
            left -= 1
    return Allocation(points, value, {i: kop for i, kop in shares.items() if kop})
