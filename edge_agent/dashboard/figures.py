"""The store manager's figures, from the journal and the verdicts (docs/operations.md). Pure.

``figures(baskets, verdicts, tz)`` replays each basket's journal row by row, so it knows when
each problem appeared and when staff resolved it: baskets and sales per local hour,
interventions per 100 baskets by cause, time to resolve (p50/p90), the share of finished
baskets that needed nobody, verdict outcomes and sources. ``availability(rows, since, until)``
turns the store's health log (one row per change of a reader's, register's, check service's or
broker's state) into each component's time up, outages and segments. ``charts(figures)`` draws
them as SVG (no library, no build step: plain bars with their numbers written on them, and a
timeline per component).
"""

from __future__ import annotations

import html
import json
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from edge_agent.basket import Basket, BasketError, Rules
from edge_agent.basket.commands import from_journal


@dataclass(frozen=True, slots=True)
class BasketRecord:
    """One basket as the store keeps it: its row and its journal ``(op, args JSON, at)``."""

    id: str
    lane: str
    state: str
    opened_at: float
    journal: Sequence[tuple[str, str, float]]


def percentile(values: list[float], q: float) -> float | None:
    """The ``q``-th percentile (nearest rank, rounded to 0.1), None for no values."""
    if not values:
        return None
    ordered = sorted(values)
    return round(ordered[min(len(ordered) - 1, int(len(ordered) * q / 100))], 1)


def figures(
    baskets: Iterable[BasketRecord], verdicts: Iterable[tuple[str, str | None]], tz: ZoneInfo
) -> dict[str, object]:
    per_hour: dict[str, dict[str, int]] = {}
    causes: Counter[str] = Counter()
    waits: list[float] = []
    finished = untouched = paid = cancelled = 0
    for record in baskets:
        hour = datetime.fromtimestamp(record.opened_at, tz).strftime("%Y-%m-%d %H:00")
        slot = per_hour.setdefault(hour, {"baskets": 0, "sales": 0, "revenue_kop": 0})
        slot["baskets"] += 1
        basket = Basket(record.id, record.lane, Rules(tz))
        raised: dict[int, float] = {}  # problem id -> the time of the journal row it appeared with
        timed: set[int] = set()
        for op, args, at in record.journal:
            try:
                from_journal(op, json.loads(args)).apply(basket)
            except (BasketError, KeyError, ValueError):
                break  # a journal that does not replay is quarantined by the store; count what it had
            for p in basket.problems.values():
                if p.id not in raised:
                    raised[p.id] = at
                    causes[p.code] += 1
                staff_did = p.resolution is not None and p.resolution.by not in ("system", "customer")
                if staff_did and p.id not in timed:
                    timed.add(p.id)
                    waits.append(at - raised[p.id])
        if record.state in ("CLOSED", "CANCELLED"):
            finished += 1
            untouched += not basket.problems
        if record.state == "CLOSED":
            paid += 1
            slot["sales"] += 1
            slot["revenue_kop"] += basket.total
        cancelled += record.state == "CANCELLED"
    outcomes: Counter[str] = Counter()
    sources: Counter[str] = Counter()
    for outcome, source in verdicts:
        outcomes[outcome] += 1
        sources[source or "none"] += 1
    total = sum(h["baskets"] for h in per_hour.values())
    return {
        "baskets": total,
        "baskets_paid": paid,
        "baskets_cancelled": cancelled,
        "per_hour": dict(sorted(per_hour.items())),
        "interventions": dict(causes),
        "interventions_per_100_baskets": {code: round(n * 100 / total, 1) for code, n in causes.items()}
        if total
        else {},
        "time_to_resolve_s": {"p50": percentile(waits, 50), "p90": percentile(waits, 90), "n": len(waits)},
        "share_without_intervention": round(untouched / finished, 3) if finished else None,
        "verdicts": dict(outcomes),
        "verdict_sources": dict(sources),
    }


def _bars(title: str, items: Sequence[tuple[str, float]], unit: str = "") -> str:
    """A horizontal bar chart: one labelled bar per item, its value written at its end."""
    e = html.escape
    width, row, left = 520, 26, 190
    top = max((v for _, v in items), default=0) or 1
    rows = []
    for i, (label, value) in enumerate(items):
        y, w = 30 + i * row, max(1.0, (width - left - 70) * value / top)
        rows.append(
            f'<text x="{left - 8}" y="{y + 15}" text-anchor="end">{e(label)}</text>'
            f'<rect x="{left}" y="{y}" width="{w:.1f}" height="{row - 8}" fill="#2f6db5"/>'
            f'<text x="{left + w + 6:.1f}" y="{y + 15}">{e(f"{value:g}{unit}")}</text>'
        )
    height = 40 + row * max(1, len(items))
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-label="{e(title)}" width="{width}" '
        f'height="{height}" viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="13">'
        f'<title>{e(title)}</title><text x="0" y="18" font-weight="bold">{e(title)}</text>{"".join(rows)}</svg>'
    )


def charts(
    f: Mapping[str, Any],
    *,
    health: Mapping[str, Any] | None = None,
    since: float = 0.0,
    until: float = 0.0,
    tz: ZoneInfo | None = None,
) -> dict[str, str]:
    hours = [(h[-5:], float(v["sales"])) for h, v in f["per_hour"].items()][-12:]
    title = "Readers, registers, checks and broker over time"
    extra = (
        {}
        if health is None
        else {"health": _timeline(title, health, since=since, until=until, tz=tz or ZoneInfo("UTC"))}
    )
    return {
        "sales_per_hour": _bars("Sales per hour", hours),
        "interventions": _bars(
            "Interventions per 100 baskets", sorted(f["interventions_per_100_baskets"].items(), key=lambda kv: -kv[1])
        ),
        "verdicts": _bars("Mark-code verdicts", sorted(f["verdicts"].items())),
        "verdict_sources": _bars("Verdict sources", sorted(f["verdict_sources"].items())),
    } | extra


def health_changes(last: Mapping[str, bool], now: Mapping[str, tuple[bool, str]]) -> list[tuple[str, bool, str]]:
    """The components whose state differs from the last one written (or that were never written)."""
    return [(c, ok, detail) for c, (ok, detail) in sorted(now.items()) if last.get(c) is not ok]


def availability(rows: Iterable[tuple[str, float, bool, str]], since: float, until: float) -> dict[str, object]:
    """Each component's segments in ``[since, until]`` from its changes (ordered by time; one row
    before ``since`` gives its state there), the share of the known time it was up, its outages
    (changes to down, or down at ``since``) and the seconds down. Time before a component's first
    row is unknown, not counted either way."""
    changes: dict[str, list[tuple[float, bool, str]]] = {}
    for component, at, ok, detail in rows:
        if at > until:
            continue
        changes.setdefault(component, []).append((max(at, since), ok, detail))
    out: dict[str, object] = {}
    for component, points in sorted(changes.items()):
        segments: list[dict[str, object]] = []
        up, down, outages = 0.0, 0.0, 0
        for i, (start, ok, detail) in enumerate(points):
            end = points[i + 1][0] if i + 1 < len(points) else until
            if end <= start and i + 1 < len(points):
                continue  # superseded at the same moment (a change before ``since``, clipped)
            end = max(start, min(end, until))
            if segments and segments[-1]["ok"] == ok:
                segments[-1]["to"] = end  # the same state written again (a restart): one segment
            else:
                outages += not ok
                segments.append({"from": start, "to": end, "ok": ok, "detail": detail})
            up, down = (up + end - start, down) if ok else (up, down + end - start)
        known = up + down
        out[component] = {
            "availability": round(up / known, 4) if known else None,
            "outages": outages,
            "down_s": round(down, 1),
            "segments": segments,
        }
    return out


def _timeline(title: str, health: Mapping[str, Any], *, since: float, until: float, tz: ZoneInfo) -> str:
    """One row per component across the window: green while up, red while down, blank unknown."""
    e = html.escape
    width, row, left, right = 620, 24, 190, 60
    span = max(until - since, 1.0)

    def x(t: float) -> float:
        return left + (width - left - right) * (t - since) / span

    rows = []
    for i, (component, h) in enumerate(health.items()):
        y = 30 + i * row
        rows.append(f'<text x="{left - 8}" y="{y + 14}" text-anchor="end">{e(component)}</text>')
        for seg in h["segments"]:
            colour = "#2e8540" if seg["ok"] else "#c0392b"
            state = "up" if seg["ok"] else f"down: {seg['detail']}"
            start, wide = x(seg["from"]), max(1.0, x(seg["to"]) - x(seg["from"]))
            rows.append(
                f'<rect x="{start:.1f}" y="{y}" width="{wide:.1f}" height="{row - 8}" fill="{colour}">'
                f"<title>{e(component)} {e(state)}</title></rect>"
            )
        share = "?" if h["availability"] is None else f"{h['availability'] * 100:.1f}%"
        rows.append(f'<text x="{width - right + 6}" y="{y + 14}">{e(share)}</text>')
    axis_y = 30 + row * max(1, len(health))
    ticks = [since + span * k / 4 for k in range(5)]
    labels = "".join(
        f'<text x="{x(t):.1f}" y="{axis_y + 14}" text-anchor="middle">'
        f"{datetime.fromtimestamp(t, tz).strftime('%H:%M')}</text>"
        for t in ticks
    )
    height = axis_y + 24
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-label="{e(title)}" width="{width}" '
        f'height="{height}" viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="13">'
        f'<title>{e(title)}</title><text x="0" y="18" font-weight="bold">{e(title)}</text>{"".join(rows)}{labels}</svg>'
    )
