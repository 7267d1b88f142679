"""The sale verdict for one mark code, from the national system's answer. Pure.

Deny order, first hit wins (method recommendations §4 as cited in
docs/sources.md §2.1): not valid → not found → not utilised → not
verified (not authentic) → blocked (with the authorities, ``ogvs``) → sold → not realizable
(tobacco in the grey zone excepted) → expired (judged in the store's time zone) → tobacco
or nicotine priced outside [smp, mrp]. An offline answer (Local Module) denies only on
blocked and sold (§4.3). Every hit is kept, in that order; the first is the reason shown.

A verdict carries what the receipt needs: the full КМ for tag 2000 and the 1260 industry
requisite (1262–1264 the decree in force on the day of the check, ``fiscal/requisites.py``;
1265 ``UUID=…&Time=…`` with ``&Inst=…&Ver=…`` for offline answers) (§6).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, time
from enum import StrEnum
from typing import Any, Final, NewType
from zoneinfo import ZoneInfo

from edge_agent.fiscal.requisites import Foundation

TOBACCO: Final = 3
ALT_TOBACCO: Final = 12
NICOTINE: Final = 16
PRICE_CONTROLLED: Final = frozenset({TOBACCO, ALT_TOBACCO, NICOTINE})
#: eliminationState values under which a withdrawn code may still be sold (§3.4)
SALE_ALLOWED_ELIMINATIONS: Final = frozenset({1, 2})


#: the service that answered (a backend's ``source``: ``ts_piot``, ``true_api``, ``local_module``);
#: recorded with each verdict and sent to central
Source = NewType("Source", str)


class Outcome(StrEnum):
    ALLOWED = "ALLOWED"
    BLOCKED = "BLOCKED"
    UNAVAILABLE = "UNAVAILABLE"


@dataclass(frozen=True, slots=True)
class Reason:
    code: str
    message: str


@dataclass(frozen=True, slots=True)
class CodeAnswer:
    """One entry of ``codes[]`` in a check answer, read tolerantly (unknown keys ignored)."""

    cis: str = ""
    valid: bool | None = None
    found: bool | None = None
    utilised: bool | None = None
    verified: bool | None = None
    realizable: bool | None = None
    is_blocked: bool = False
    ogvs: tuple[str, ...] = ()
    sold: bool | None = None
    elimination_state: int | None = None
    expire_date: datetime | None = None
    gray_zone: bool = False
    group_ids: tuple[int, ...] = ()
    mrp: int | None = None
    smp: int | None = None
    inner_unit_count: int | None = None
    sold_unit_count: int | None = None
    error_code: int = 0

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> CodeAnswer:
        def flag(key: str) -> bool | None:
            value = data.get(key)
            return value if isinstance(value, bool) else None

        def number(key: str) -> int | None:
            value = data.get(key)
            return value if isinstance(value, int) and not isinstance(value, bool) else None

        groups = data.get("groupIds") or []
        return cls(
            cis=str(data.get("cis", "")),
            valid=flag("valid"),
            found=flag("found"),
            utilised=flag("utilised"),
            verified=flag("verified"),
            realizable=flag("realizable"),
            is_blocked=flag("isBlocked") is True,
            ogvs=tuple(str(o) for o in data.get("ogvs") or ()),
            sold=flag("sold"),
            elimination_state=number("eliminationState"),
            expire_date=parse_timestamp(data.get("expireDate")),
            gray_zone=flag("grayZone") is True,
            group_ids=tuple(g for g in groups if isinstance(g, int)),
            mrp=number("mrp"),
            smp=number("smp"),
            inner_unit_count=number("innerUnitCount"),
            sold_unit_count=number("soldUnitCount"),
            error_code=number("errorCode") or 0,
        )


def parse_timestamp(value: object) -> datetime | None:
    """``yyyy-MM-ddTHH:mm:ss.SSSZ`` (or with an offset) → aware datetime; None if absent or odd."""
    if not isinstance(value, str) or not value:
        return None
    text = value.strip().replace("Z", "+00:00")
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class CheckContext:
    """Who answered, and the request identity the receipt must carry."""

    source: Source
    req_id: str
    req_timestamp: int  # ms since the epoch, as the service sent it
    offline: bool = False
    inst: str | None = None
    version: str | None = None


@dataclass(frozen=True, slots=True)
class Verdict:
    outcome: Outcome
    mark_code: str
    reasons: tuple[Reason, ...] = ()
    ogvs: tuple[str, ...] = ()
    context: CheckContext | None = None
    mrp: int | None = None
    smp: int | None = None
    details: Mapping[str, Any] = field(default_factory=dict)

    @property
    def allowed(self) -> bool:
        return self.outcome is Outcome.ALLOWED

    @property
    def tag_1265(self) -> str | None:
        c = self.context
        if c is None:
            return None
        value = f"UUID={c.req_id}&Time={c.req_timestamp}"
        if c.offline:
            value += f"&Inst={c.inst or ''}&Ver={c.version or ''}"
        return value

    def fiscal(self, foundation: Foundation | None = None) -> dict[str, object]:
        """Tag 2000 and the 1260 requisite (None when no service answered), its decree from
        ``foundation`` (the store's table; default: the built-in one, Moscow time)."""
        tag_1265 = self.tag_1265
        industry = None
        if tag_1265 is not None:
            industry = (foundation or Foundation()).tag_1260(tag_1265)
        return {"2000": self.mark_code, "1260": industry}

    def to_dict(self) -> dict[str, object]:
        c = self.context
        return {
            "outcome": self.outcome.value,
            "reasons": [{"code": r.code, "message": r.message} for r in self.reasons],
            "ogvs": list(self.ogvs),
            "source": c.source if c else None,
            "offline": c.offline if c else None,
            "req_id": c.req_id if c else None,
            "req_timestamp": c.req_timestamp if c else None,
            "mrp": self.mrp,
            "smp": self.smp,
            "fiscal": self.fiscal(),
        }


def _expired(expire: datetime, now: datetime, tz: ZoneInfo) -> bool:
    """Expiry in the store's time zone. A midnight timestamp is a date: it is sellable
    through the end of that day in the store (the services send dates as 00:00 UTC)."""
    if expire.timetz().replace(tzinfo=None) == time(0, 0):
        last_day = expire.date()
        return now.astimezone(tz).date() > last_day
    return now.astimezone(tz) >= expire.astimezone(tz)


def _online_reasons(a: CodeAnswer, now: datetime, tz: ZoneInfo, *, unit_price: int | None, units: int) -> list[Reason]:
    hits: list[Reason] = []
    if a.valid is False:
        hits.append(Reason("NOT_VALID", f"the code's structure is not valid (error {a.error_code})"))
    if a.found is False:
        hits.append(Reason("NOT_FOUND", "the code is not in the national system"))
    if a.utilised is False:
        hits.append(Reason("NOT_UTILISED", "the code was never applied to a product"))
    if a.verified is False:
        hits.append(Reason("NOT_VERIFIED", "the crypto check failed: not authentic"))
    if a.is_blocked:
        who = ", ".join(a.ogvs) or "an authority"
        hits.append(Reason("BLOCKED", f"sale blocked by {who}"))
    hits += _sold_reasons(a, units)
    if a.realizable is False and not (TOBACCO in a.group_ids and a.gray_zone):
        hits.append(Reason("NOT_REALIZABLE", "the item is not in circulation"))
    if a.expire_date is not None and _expired(a.expire_date, now, tz):
        hits.append(Reason("EXPIRED", f"expired on {a.expire_date.astimezone(tz).date().isoformat()}"))
    if unit_price is not None and PRICE_CONTROLLED & set(a.group_ids):
        if a.smp and unit_price < a.smp:
            hits.append(Reason("PRICE_BELOW_MIN", f"price {unit_price} is below the minimum {a.smp} (kopecks)"))
        if a.mrp and unit_price > a.mrp:
            hits.append(Reason("PRICE_ABOVE_MAX", f"price {unit_price} is above the maximum {a.mrp} (kopecks)"))
    return hits


def _sold_reasons(a: CodeAnswer, units: int) -> list[Reason]:
    if a.sold is True and a.elimination_state not in SALE_ALLOWED_ELIMINATIONS:
        return [Reason("SOLD", "the item has already been sold")]
    if a.inner_unit_count and a.sold_unit_count is not None:
        left = a.inner_unit_count - a.sold_unit_count
        if left < units:
            return [Reason("SOLD", f"{left} of {a.inner_unit_count} units left in the pack, {units} asked")]
    return []


def decide(
    mark_code: str,
    answer: CodeAnswer,
    context: CheckContext,
    now: datetime,
    *,
    tz: ZoneInfo,
    unit_price: int | None = None,
    units: int = 1,
) -> Verdict:
    """The verdict on one code. ``now`` must be timezone-aware; prices in kopecks."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    if context.offline:
        hits = []
        if answer.is_blocked:
            hits.append(Reason("BLOCKED", f"sale blocked by {', '.join(answer.ogvs) or 'an authority'} (offline list)"))
        hits += _sold_reasons(answer, units)
    else:
        hits = _online_reasons(answer, now, tz, unit_price=unit_price, units=units)
    outcome = Outcome.BLOCKED if hits else Outcome.ALLOWED
    return Verdict(outcome, mark_code, tuple(hits), answer.ogvs, context, answer.mrp, answer.smp)


def unavailable(mark_code: str, why: str) -> Verdict:
    """Neither the online check nor the Local Module answered: not sold at the kiosk."""
    return Verdict(Outcome.UNAVAILABLE, mark_code, (Reason("MARKING_CHECK_UNAVAILABLE", why),))
