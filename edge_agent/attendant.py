"""The attendant's queue as the daemon keeps it: when each problem was first seen open (its
waiting time), and every lane's open problems with the exit gates' alarms, most urgent first
(the order is ``basket/interventions.py``'s, pure)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable

from edge_agent.basket import Basket, State
from edge_agent.basket.interventions import Intervention, gate_alarms, lane_faults, ordered, queue
from edge_agent.gate.records import GateAlarms


class AttendantQueue:
    """``baskets``: the lanes' live baskets now; ``faults``: the lanes' open faults as (lane,
    code, since) (``lane_faults.py``)."""

    def __init__(
        self,
        baskets: Callable[[], Iterable[Basket]],
        alarms: GateAlarms,
        faults: Callable[[], Iterable[tuple[str, str, float]]] = list,
    ) -> None:
        self.baskets, self.alarms, self.faults = baskets, alarms, faults
        #: (basket, problem) -> when it was first seen open
        self.first_seen: dict[tuple[str, int], float] = {}

    def changed(self, basket: Basket) -> None:
        """A basket's command was committed: start or stop its problems' clocks."""
        now = time.time()
        for p in basket.problems.values():
            if p.open:
                self.first_seen.setdefault((basket.id, p.id), now)
            else:
                self.first_seen.pop((basket.id, p.id), None)

    def interventions(self) -> list[Intervention]:
        """Every lane's open problems and the gates' open alarms, most urgent first."""
        live = [b for b in self.baskets() if b.state not in (State.CLOSED, State.CANCELLED)]
        open_now = {(b.id, p.id) for b in live for p in b.problems.values() if p.open}
        for gone in set(self.first_seen) - open_now:  # baskets that closed or were cancelled
            del self.first_seen[gone]
        now = time.time()
        alarms = [a.to_dict() for a in self.alarms.list()]
        return ordered(queue(live, self.first_seen, now) + gate_alarms(alarms, now) + lane_faults(self.faults(), now))
