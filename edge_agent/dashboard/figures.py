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
from typing import Any, Final
from zoneinfo import ZoneInfo

from edge_agent.basket import Basket, BasketError, Rules
from edge_agent.basket.commands import from_journal
from edge_agent.payment.attempt import reason_code


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


#: why a payment did not pay that is not the bank's no (the shopper, central, the printer)
NOT_DECLINES = frozenset({"cancelled", "timeout", "no_answer", "no_receipt"})


def figures(
    baskets: Iterable[BasketRecord],
    verdicts: Iterable[tuple[str, str | None]],
    tz: ZoneInfo,
    *,
    gate_alarms: Iterable[tuple[str, str]] = (),
) -> dict[str, object]:
    """``gate_alarms``: (gate, reason) of each exit-gate alarm in the window."""
    per_hour: dict[str, dict[str, int]] = {}
    causes: Counter[str] = Counter()
    waits: list[float] = []
    durations: list[float] = []
    lanes: dict[str, dict[str, Any]] = {}
    finished = untouched = paid = cancelled = attempts = declines = 0
    shrink = {"blocked_kop": 0, "voided_kop": 0, "blocked": 0, "voided": 0}
    for record in baskets:
        hour = datetime.fromtimestamp(record.opened_at, tz).strftime("%Y-%m-%d %H:00")
        slot = per_hour.setdefault(hour, {"baskets": 0, "sales": 0, "revenue_kop": 0})
        slot["baskets"] += 1
        lane = lanes.setdefault(
            record.lane,
            {"baskets": 0, "paid": 0, "cancelled": 0, "revenue_kop": 0, "declines": 0, "basket_time_s": []},
        )
        lane["baskets"] += 1
        basket = Basket(record.id, record.lane, Rules(tz))
        raised: dict[int, float] = {}  # problem id -> the time of the journal row it appeared with
        timed: set[int] = set()
        stopped: set[int] = set()  # lines counted as shrink (blocked, or voided by staff)
        for op, args, at in record.journal:
            try:
                data = json.loads(args)
                before = basket.lines.get(data.get("line_id", -1)) if op == "remove" else None
                from_journal(op, data).apply(basket)
            except (BasketError, KeyError, ValueError, AttributeError):
                break  # a journal that does not replay is quarantined by the store; count what it had
            if before is not None and data.get("by") != "customer" and before.id not in stopped:
                stopped.add(before.id)
                shrink["voided"] += 1
                shrink["voided_kop"] += before.price
            if op == "verdict" and data.get("outcome") == "BLOCKED" and data["line_id"] not in stopped:
                stopped.add(data["line_id"])
                shrink["blocked"] += 1
                shrink["blocked_kop"] += basket.lines[data["line_id"]].price
            attempts += op == "start_payment"
            if op == "payment_result" and not data.get("approved"):
                declined = reason_code(str(data.get("message", ""))) not in NOT_DECLINES
                declines += declined
                lane["declines"] += declined
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
            lane["paid"] += 1
            lane["revenue_kop"] += basket.total
            if record.journal:  # from the first item to the closing row: the shopper's time at the lane
                lane["basket_time_s"].append(max(0.0, record.journal[-1][2] - record.opened_at))
        cancelled += record.state == "CANCELLED"
        lane["cancelled"] += record.state == "CANCELLED"
    for lane in lanes.values():
        durations += lane["basket_time_s"]
        times = lane.pop("basket_time_s")
        lane["basket_time_s"] = {"p50": percentile(times, 50), "p90": percentile(times, 90)}
    outcomes: Counter[str] = Counter()
    sources: Counter[str] = Counter()
    for outcome, source in verdicts:
        outcomes[outcome] += 1
        sources[source or "none"] += 1
    alarms: Counter[str] = Counter(reason for _gate, reason in gate_alarms)
    total = sum(h["baskets"] for h in per_hour.values())
    busiest = max((h["sales"] for h in per_hour.values()), default=0)
    return {
        "baskets": total,
        "baskets_paid": paid,
        "baskets_cancelled": cancelled,
        "revenue_kop": sum(h["revenue_kop"] for h in per_hour.values()),
        "per_hour": dict(sorted(per_hour.items())),
        "per_lane": dict(sorted(lanes.items())),
        "basket_time_s": {"p50": percentile(durations, 50), "p90": percentile(durations, 90), "n": len(durations)},
        "throughput_peak_per_hour": busiest,
        "payments": {
            "attempts": attempts,
            "declines": declines,
            "decline_rate": round(declines / attempts, 3) if attempts else None,
        },
        "shrink": shrink | {"total_kop": shrink["blocked_kop"] + shrink["voided_kop"]},
        "gate_alarms": {"total": sum(alarms.values()), "by_reason": dict(alarms)},
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
    """A bar chart a handheld reads without zooming: each item's label on its own line (long
    Russian labels fit), its bar below with the value written at its end; 360 units wide, the
    width of a phone's page, so its 15-unit text stays about 15 px there."""
    e = html.escape
    width, row = 360, 46
    top = max((v for _, v in items), default=0) or 1
    rows = []
    for i, (label, value) in enumerate(items):
        y, w = 30 + i * row, max(1.0, (width - 80) * value / top)
        rows.append(
            f'<text x="0" y="{y + 14}">{e(label)}</text>'
            f'<rect x="0" y="{y + 20}" width="{w:.1f}" height="18" fill="#2f6db5"/>'
            f'<text x="{w + 6:.1f}" y="{y + 34}">{e(f"{value:g}{unit}")}</text>'
        )
    height = 34 + row * max(1, len(items))
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-label="{e(title)}" width="{width}" '
        f'height="{height}" viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="15">'
        f'<title>{e(title)}</title><text x="0" y="18" font-weight="bold">{e(title)}</text>{"".join(rows)}</svg>'
    )


#: the charts' words when the caller gives none (``words``: the staff page's texts, ``dashboard``)
ENGLISH: Final[Mapping[str, str]] = {
    "sales_per_hour": "Sales per hour",
    "revenue_per_lane": "Revenue per lane, ₽",
    "interventions": "Interventions per 100 baskets",
    "verdicts": "Mark-code verdicts",
    "verdict_sources": "Verdict sources",
    "health": "Readers, registers, checks and broker over time",
}


def charts(
    f: Mapping[str, Any],
    *,
    health: Mapping[str, Any] | None = None,
    since: float = 0.0,
    until: float = 0.0,
    tz: ZoneInfo | None = None,
    words: Mapping[str, Any] | None = None,
) -> dict[str, str]:
    """The figures as SVG charts, titled and labelled in ``words`` (``titles``: each chart's
    title; ``labels``: a code's words, e.g. ``HELP_REQUESTED`` → "Покупатель зовёт сотрудника")."""
    titles = {**ENGLISH, **(words or {}).get("titles", {})}
    labels: Mapping[str, str] = (words or {}).get("labels", {})

    def named(items: Iterable[tuple[str, float]]) -> list[tuple[str, float]]:
        return [(labels.get(code, code), value) for code, value in items]

    hours = [(h[-5:], float(v["sales"])) for h, v in f["per_hour"].items()][-12:]
    revenue = [(lane, round(v["revenue_kop"] / 100, 2)) for lane, v in f.get("per_lane", {}).items()]
    extra = (
        {}
        if health is None
        else {"health": _timeline(titles["health"], health, since=since, until=until, tz=tz or ZoneInfo("UTC"))}
    )
    return {
        "sales_per_hour": _bars(titles["sales_per_hour"], hours),
        "revenue_per_lane": _bars(titles["revenue_per_lane"], revenue),
        "interventions": _bars(
            titles["interventions"],
            named(sorted(f["interventions_per_100_baskets"].items(), key=lambda kv: -kv[1])),
        ),
        "verdicts": _bars(titles["verdicts"], named(sorted(f["verdicts"].items()))),
        "verdict_sources": _bars(titles["verdict_sources"], named(sorted(f["verdict_sources"].items()))),
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
    """One row per component across the window: green while up, red while down, blank unknown;
    its name and availability on a line above (360 units wide, for the handheld)."""
    e = html.escape
    width, row, left, right = 360, 40, 0, 20
    span = max(until - since, 1.0)

    def x(t: float) -> float:
        return left + (width - left - right) * (t - since) / span

    rows = []
    for i, (component, h) in enumerate(health.items()):
        y = 30 + i * row
        share = "?" if h["availability"] is None else f"{h['availability'] * 100:.1f}%"
        rows.append(f'<text x="0" y="{y + 14}">{e(component)} · {e(share)}</text>')
        for seg in h["segments"]:
            colour = "#2e8540" if seg["ok"] else "#c0392b"
            state = "up" if seg["ok"] else f"down: {seg['detail']}"
            start, wide = x(seg["from"]), max(1.0, x(seg["to"]) - x(seg["from"]))
            rows.append(
                f'<rect x="{start:.1f}" y="{y + 20}" width="{wide:.1f}" height="14" fill="{colour}">'
                f"<title>{e(component)} {e(state)}</title></rect>"
            )
    axis_y = 30 + row * max(1, len(health))
    ticks = [since + span * k / 4 for k in range(5)]
    labels = "".join(
        f'<text x="{min(max(x(t), 20), width - 20):.1f}" y="{axis_y + 14}" text-anchor="middle">'
        f"{datetime.fromtimestamp(t, tz).strftime('%H:%M')}</text>"
        for t in ticks
    )
    height = axis_y + 24
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" role="img" aria-label="{e(title)}" width="{width}" '
        f'height="{height}" viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="15">'
        f'<title>{e(title)}</title><text x="0" y="18" font-weight="bold">{e(title)}</text>{"".join(rows)}{labels}</svg>'
    )
