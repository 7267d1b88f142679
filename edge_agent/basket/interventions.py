"""The attendant's queue: every open problem of every lane, most urgent first. Pure.

One attendant covers several lanes; what needs them first is what stops a sale outright
(CRITICAL: a blocked or refused mark, an item that may not be sold), then what waits for a
person's yes (MEDIUM: an age check, a quantity, a declined payment, a help request), each
level oldest first. ``first_seen`` is when the daemon first saw each problem open (kept by the
shell, ``attendant.py``; a restart starts the clocks again)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Final

from edge_agent.basket.machine import Basket

URGENCY: Final = {"CRITICAL": 0, "MEDIUM": 1}


@dataclass(frozen=True, slots=True)
class Intervention:
    lane: str
    basket: str
    problem: int
    code: str
    level: str
    message: str
    line_id: int | None
    line_name: str | None
    since: float
    waiting_s: float
    #: what one tap does: approve (MEDIUM), void the line (a problem that has one)
    actions: tuple[str, ...]

    def to_dict(self) -> dict[str, object]:
        return {
            "lane": self.lane,
            "basket": self.basket,
            "problem": self.problem,
            "code": self.code,
            "level": self.level,
            "message": self.message,
            "line_id": self.line_id,
            "line": self.line_name,
            "since": self.since,
            "waiting_s": round(self.waiting_s, 1),
            "actions": list(self.actions),
        }


def queue(baskets: Iterable[Basket], first_seen: Mapping[tuple[str, int], float], now: float) -> list[Intervention]:
    out = []
    for basket in baskets:
        for p in basket.problems.values():
            if not p.open:
                continue
            since = first_seen.get((basket.id, p.id), now)
            line = basket.lines.get(p.line_id) if p.line_id is not None else None
            actions = (("approve",) if p.level == "MEDIUM" else ()) + (("void",) if line is not None else ())
            out.append(
                Intervention(
                    lane=basket.lane,
                    basket=basket.id,
                    problem=p.id,
                    code=p.code,
                    level=p.level,
                    message=p.message,
                    line_id=p.line_id,
                    line_name=line.name if line else None,
                    since=since,
                    waiting_s=max(0.0, now - since),
                    actions=actions,
                )
            )
    return ordered(out)


def gate_alarms(alarms: Iterable[Mapping[str, object]], now: float) -> list[Intervention]:
    """Open exit-gate alarms as interventions: CRITICAL, the item and the time, resolved in one tap."""
    out = []
    for a in alarms:
        at = float(a["at"])  # type: ignore[arg-type]
        code = "GATE_ALARM" if a["reason"] == "UNPAID" else "GATE_CLONED_TAG"
        message = f"{a['name']} walked out of {a['gate']} " + ("unpaid" if code == "GATE_ALARM" else "on a copied tag")
        out.append(
            Intervention(
                lane=str(a["gate"]),
                basket="",
                problem=int(a["id"]),  # type: ignore[call-overload]
                code=code,
                level="CRITICAL",
                message=message,
                line_id=None,
                line_name=str(a["name"]),
                since=at,
                waiting_s=max(0.0, now - at),
                actions=("resolve",),
            )
        )
    return out


def lane_faults(faults: Iterable[tuple[str, str, float]], now: float) -> list[Intervention]:
    """A lane's faults (``lane_faults.py``: payments down, a kiosk offline, the printer) as
    CRITICAL interventions with no action: they clear when the fault does. One per lane and
    cause, however long it lasts; its code upper-cased (``PAYMENTS_DOWN``)."""
    return [
        Intervention(
            lane=lane,
            basket="",
            problem=0,
            code=code.upper(),
            level="CRITICAL",
            message=code,
            line_id=None,
            line_name=None,
            since=since,
            waiting_s=max(0.0, now - since),
            actions=(),
        )
        for lane, code, since in faults
    ]


def ordered(items: Iterable[Intervention]) -> list[Intervention]:
    """Most urgent first: CRITICAL before MEDIUM, then whoever has waited longest."""
    return sorted(items, key=lambda i: (URGENCY.get(i.level, 2), i.since, i.lane, i.problem))
