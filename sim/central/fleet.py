"""The fleet view: which stores need attention, from every agent's retained status as central
keeps it (``agents`` table, written by the event sink). Pure: rows in, findings out.

An agent needs attention when it is offline (its Last Will, or a clean stop), silent for longer
than ``stale_s`` (it refreshes its status every 30 s: a dead store shows within one interval
of the next refresh), a reader is not online, events wait unconfirmed too long, a fiscal register
cannot print, or the outbox holds a backlog. Run: ``edge-agent sim central status --db …``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any


def reasons(state: str, data: dict[str, Any], *, silent_s: float, stale_s: float, backlog: int) -> list[str]:
    """Why one agent needs someone (nothing: it is fine)."""
    out = []
    if state != "online":
        out.append(f"offline: {data.get('reason') or state}")
    elif silent_s > stale_s:
        out.append(f"silent for {int(silent_s)} s")
    for reader, health in sorted((data.get("readers") or {}).items()):
        if isinstance(health, dict) and health.get("state") != "online":
            out.append(f"reader {reader} {health.get('state')}: {health.get('reason') or ''}".rstrip(": "))
    delivery = data.get("delivery") or {}
    if delivery and not delivery.get("ok", True):
        out.append(f"{delivery.get('unconfirmed')} events unconfirmed, oldest {delivery.get('oldest_unconfirmed_s')} s")
    for lane, register in sorted((data.get("fiscal") or {}).items()):
        if isinstance(register, dict) and not register.get("ok", True):
            why = register.get("refuses_payments") or register.get("error") or "degraded"
            out.append(f"register of {lane}: {why}")
    lm = (data.get("verification") or {}).get("local_module") or {}
    if lm and (lm.get("status") != "ready" or lm.get("sync_alarm")):
        age = lm.get("sync_age_s")
        since = f", last synced {age / 3600:.0f} h ago" if isinstance(age, int | float) else ""
        out.append(f"Local Module {lm.get('status')}{since}")
    if int(data.get("outbox") or 0) >= backlog:
        out.append(f"outbox backlog {data['outbox']}")
    return out


def attention(
    rows: Iterable[tuple[str, str, str, str, float]], now: float, stale_s: float = 90.0, backlog: int = 1000
) -> list[dict[str, Any]]:
    """``rows``: (store, agent, state, status JSON, received at). One finding per agent that
    needs someone, with every reason, worst first (offline, then silent, then the rest)."""
    found = []
    for store, agent, state, raw, at in rows:
        why = reasons(state, json.loads(raw), silent_s=now - at, stale_s=stale_s, backlog=backlog)
        if why:
            rank = 0 if state != "online" else 1 if now - at > stale_s else 2
            found.append((rank, {"store": store, "agent": agent, "reasons": why, "since": at}))
    found.sort(key=lambda f: (f[0], f[1]["store"], f[1]["agent"]))
    return [f for _, f in found]
