"""The ATOL Web-server simulator on its own thread and event loop, so that a test can drive
agents in other processes (or its own loop) against it and read what was printed."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from sim.kkt import Device, KktSim
from tests.integration.sim_thread import SimThread

T = TypeVar("T")


class KktThread(SimThread[KktSim]):
    def __init__(self, **device: Any) -> None:
        super().__init__(lambda: KktSim({"default": Device(**device)}).start())

    def call(self, fn: Callable[[Device], T]) -> T:
        """Run ``fn`` on the device in the simulator's loop (its state is that loop's)."""
        return self.on_loop(lambda sim: fn(sim.device()))

    def receipts(self) -> list[dict[str, Any]]:
        return self.call(lambda d: [dict(r) for r in d.receipts])
