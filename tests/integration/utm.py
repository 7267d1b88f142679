"""The УТМ simulator on its own thread and event loop (like ``kkt.py``), so that agents in other
processes, or a test's own loop, can sell through it and a test can read what it accepted."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from sim.utm import UtmSim
from tests.integration.sim_thread import SimThread

T = TypeVar("T")


class UtmThread(SimThread[UtmSim]):
    def __init__(self, **kw: Any) -> None:
        super().__init__(lambda: UtmSim(**kw).start())

    def call(self, fn: Callable[[UtmSim], T]) -> T:
        return self.on_loop(fn)
