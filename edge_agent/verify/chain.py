"""The permissive-mode chain: online within 1.5 s, else the Local Module, else unavailable.

The online service (TS PIoT or True API) is asked first. If it fails, the Local Module is
asked at once; if it is still silent ``local_head_start_s`` before the budget (1.5 s,
connection set-up included) runs out, the Local Module is asked in parallel, so that its
answer is ready when the budget ends. The online answer wins if it comes in time; else the
Local Module decides. Neither → every item is UNAVAILABLE (the basket later raises
``MARKING_CHECK_UNAVAILABLE``). In the common case only one service is asked.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Final
from zoneinfo import ZoneInfo

from edge_agent.codes import Identity
from edge_agent.verify.backend import Backend, CheckResult, VerifyError
from edge_agent.verify.policy import Verdict, decide, unavailable

log = logging.getLogger(__name__)

ONLINE_BUDGET_S: Final = 1.5
LOCAL_GRACE_S: Final = 0.1  # how long past the budget the Local Module may still take
LOCAL_HEAD_START_S: Final = 0.4  # ask the Local Module this long before the budget ends


class Verifier:
    def __init__(
        self,
        online: Backend | None,
        local: Backend | None,
        tz: ZoneInfo,
        *,
        budget_s: float = ONLINE_BUDGET_S,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.online, self.local, self.tz, self.budget_s, self.clock = online, local, tz, budget_s, clock
        #: why the configured online service is not in the chain (it could not start, or its
        #: sunset passed: verify/registry.py), for health
        self.online_error: str | None = None

    async def verify(
        self,
        items: Sequence[Identity],
        unit_prices: Sequence[int | None] | None = None,
        units: Sequence[int] | None = None,
    ) -> list[Verdict]:
        """One verdict per item, in order, within about ``budget_s`` + 0.1 s. ``units``: how
        many units of each item's pack are sold (a part of a pack: enough must be left)."""
        prices: list[int | None] = list(unit_prices) if unit_prices is not None else [None] * len(items)
        counts = list(units) if units is not None else [1] * len(items)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.budget_s
        online = asyncio.create_task(self.online.check(items)) if self.online else None
        local: asyncio.Task[list[CheckResult]] | None = None
        why: list[str] = []
        try:
            if online is not None:
                head_start = max(0.0, self.budget_s - LOCAL_HEAD_START_S)
                done, _ = await asyncio.wait({online}, timeout=head_start)
                if not done and self.local is not None:
                    local = asyncio.create_task(self.local.check(items))
                try:
                    results = await asyncio.wait_for(asyncio.shield(online), max(0.0, deadline - loop.time()))
                    return self._decide(items, results, prices, counts)
                except TimeoutError:
                    why.append(f"online: no answer within {self.budget_s} s")
                except VerifyError as e:
                    why.append(f"online: {e.message}")
            if self.local is not None:
                if local is None:
                    local = asyncio.create_task(self.local.check(items))
                try:
                    limit = max(LOCAL_GRACE_S, deadline - loop.time()) if online else self.budget_s
                    results = await asyncio.wait_for(local, limit)
                    return self._decide(items, results, prices, counts)
                except TimeoutError:
                    why.append("Local Module: no answer in time")
                except VerifyError as e:
                    why.append(e.message)
            reason = "; ".join(why) or "no verification service configured"
            return [unavailable(item.mark_code or item.ki, reason) for item in items]
        finally:
            for task in (online, local):
                if task is None:
                    continue
                if not task.done():
                    task.cancel()
                with contextlib.suppress(asyncio.CancelledError, VerifyError):
                    await task  # also collects an exception that came after we stopped waiting

    def _decide(
        self, items: Sequence[Identity], results: list[CheckResult], prices: list[int | None], units: list[int]
    ) -> list[Verdict]:
        now = self.clock()
        return [
            decide(item.mark_code or item.ki, r.answer, r.context, now, tz=self.tz, unit_price=price, units=n)
            for item, r, price, n in zip(items, results, prices, units, strict=True)
        ]
