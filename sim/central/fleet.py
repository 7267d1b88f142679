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


def attention(rows: Iterable[tuple[str, str, str, str, float]], now: float, stale_s: float = 90.0,
              backlog: int = 1000) -> list[dict[str, Any]]:  # fmt: skip
    """``rows``: (store, agent, state, status JSON, received at). One finding per agent that
    needs someone, with every reason, worst first (offline, then silent, then the rest)."""
    out = []
    for store, agent, state, raw, at in rows:
        data = json.loads(raw)
        reasons = []
        if state != "online":
            reasons.append(f"offline: {data.get('reason') or state}")
        elif now - at > stale_s:
            reasons.append(f"silent for {int(now - at)} s")
        for reader, health in sorted((data.get("readers") or {}).items()):
            if isinstance(health, dict) and health.get("state") != "online":
                reasons.append(f"reader {reader} {health.get('state')}: {health.get('reason') or ''}".rstrip(": "))
        delivery = data.get("delivery") or {}
        if delivery and not delivery.get("ok", True):
            reasons.append(
                f"{delivery.get('unconfirmed')} events unconfirmed, oldest {delivery.get('oldest_unconfirmed_s')} s"
            )
        for lane, register in sorted((data.get("fiscal") or {}).items()):
            if isinstance(register, dict) and not register.get("ok", True):
                reasons.append(
                    f"register of {lane}: {register.get('refuses_payments') or register.get('error') or 'degraded'}"
                )
        if int(data.get("outbox") or 0) >= backlog:
            reasons.append(f"outbox backlog {data['outbox']}")
        if reasons:
            rank = 0 if state != "online" else 1 if now - at > stale_s else 2
            out.append({"store": store, "agent": agent, "reasons": reasons, "since": at, "_rank": rank})
    out.sort(key=lambda f: (f.pop("_rank"), f["store"], f["agent"]))
    return out
