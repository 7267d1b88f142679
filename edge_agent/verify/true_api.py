"""True API direct: CDN discovery, hosts ranked by health, refreshed every 6-7 h in the
background, a failing host benched for 15 min (docs/sources.md §2).

Direct calls with an API key end by law (``direct_true_api_until``, default 1 Mar 2026 per the
ТС ПИоТ FAQ; docs/compliance.md): from that day the backend refuses to start and refuses every
check without a call, so the chain goes on with the Local Module and health says why."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from collections.abc import Callable, Sequence
from datetime import date
from typing import TYPE_CHECKING, Any, Final

import httpx

from edge_agent.codes import Identity
from edge_agent.config_types import Section, Url
from edge_agent.verify.backend import (
    BENCH_S,
    REFRESH_S,
    Backend,
    CheckResult,
    VerifyError,
    _json,
    _mark_codes,
    _post,
    _results,
)
from edge_agent.verify.policy import Source

if TYPE_CHECKING:
    from edge_agent.verify.registry import VerifySettings

log = logging.getLogger("edge_agent.verify.true_api")

#: the last day of direct True API calls with an API key is the day before this; the ТС ПИоТ
#: FAQ (честныйзнак.рф/ts-piot/faq) says 1 Mar 2026, a vendor 1 Jul 2026: the earlier, configurable
DIRECT_UNTIL: Final = date(2026, 3, 1)


def sunset_error(until: date) -> VerifyError:
    return VerifyError(
        "sunset",
        f"direct True API calls ended on {until.isoformat()}: checks go through ТС ПИоТ "
        '(verify.backend = "ts_piot"); the Local Module answers meanwhile',
    )


class TrueApiBackend(Backend):
    """True API direct. ``start()`` discovers and ranks hosts and keeps doing it in the
    background; a host that fails a check is benched for 15 min and the next one is tried."""

    source = Source("true_api")

    def __init__(
        self,
        cdn_url: str,
        api_key: str,
        bench_s: float = BENCH_S,
        *,
        until: date | None = None,
        today: Callable[[], date] = date.today,
        **kw: Any,
    ) -> None:
        super().__init__(**kw)
        self.cdn_url, self.api_key, self.bench_s = cdn_url.rstrip("/"), api_key, bench_s
        self.until, self.today = until, today  # until: None = no sunset (a bench, a test peer)
        self.hosts: list[str] = []  # best first
        self.benched: dict[str, float] = {}  # host -> monotonic time it may return
        self._refresher: asyncio.Task[None] | None = None

    @property
    def _headers(self) -> dict[str, str]:
        return {"X-API-KEY": self.api_key}

    async def refresh(self) -> None:
        try:
            response = await self.client.get(f"{self.cdn_url}/api/v4/true-api/cdn/info", headers=self._headers)
        except httpx.HTTPError as e:
            raise VerifyError("connection", f"CDN info: {type(e).__name__}") from None
        body = _json(response)
        hosts = [h["host"].rstrip("/") for h in body.get("hosts", []) if isinstance(h, dict) and "host" in h]
        timings = await asyncio.gather(*(self._health(h) for h in hosts))
        ranked = sorted((t, h) for t, h in zip(timings, hosts, strict=True) if t is not None)
        self.hosts = [h for _, h in ranked]
        log.info("true api: %d of %d CDN hosts healthy: %s", len(ranked), len(hosts), self.hosts)

    async def _health(self, host: str) -> float | None:
        try:
            response = await self.client.get(f"{host}/api/v4/true-api/cdn/health/check", headers=self._headers)
            body = response.json()
        except (httpx.HTTPError, ValueError):
            return None
        if response.status_code != 200 or body.get("code") != 0:
            return None
        return float(body.get("avgTimeMs", 1e9))

    def _sunset(self) -> None:
        if self.until is not None and self.today() >= self.until:
            raise sunset_error(self.until)

    async def start(self) -> None:
        self._sunset()
        await self.refresh()
        self._refresher = asyncio.create_task(self._refresh_forever())

    async def _refresh_forever(self) -> None:
        while True:
            await asyncio.sleep(random.uniform(*REFRESH_S))
            try:
                await self.refresh()
            except VerifyError as e:
                log.warning("true api: CDN refresh failed, keeping the old list: %s", e)

    async def aclose(self) -> None:
        if self._refresher is not None:
            self._refresher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._refresher
        await super().aclose()

    def available(self) -> list[str]:
        now = time.monotonic()
        return [h for h in self.hosts if self.benched.get(h, 0) <= now]

    async def check(self, items: Sequence[Identity]) -> list[CheckResult]:
        self._sunset()  # a daemon started before the day does not go on calling after it
        codes = _mark_codes(items)
        last: VerifyError | None = None
        for host in self.available():
            try:
                body = await _post(
                    self.client, f"{host}/api/v4/true-api/codes/check", json={"codes": codes}, headers=self._headers
                )
            except VerifyError as e:
                if not e.try_elsewhere:
                    raise
                self.benched[host] = time.monotonic() + self.bench_s
                log.warning("true api: host %s benched for %.0f s: %s", host, self.bench_s, e)
                last = e
                continue
            if not isinstance(body, dict) or body.get("code") != 0:
                raise VerifyError("bad_response", f"{host}: {body!r:.200}")
            entry = {"codes": None, "reqId": body.get("reqId"), "reqTimestamp": body.get("reqTimestamp", 0)}
            answers = body.get("codes")
            if not isinstance(answers, list) or len(answers) != len(items):
                raise VerifyError("bad_response", f"{host}: expected {len(items)} answers")
            return _results([{**entry, "codes": [a]} for a in answers], len(items), self.source, False)
        raise last or VerifyError("no_host", "no healthy True API host (all benched or none discovered)")


class TrueApiKeys(Section):
    """Its keys in ``[verify]``; ``true_api_key`` is a secret (``true_api_key_file`` works)."""

    true_api_cdn_url: Url = "http://127.0.0.1:18081"
    true_api_key: str = "sim-api-key"
    #: from this day True API is never called directly (ТС ПИоТ only); move it only if the
    #: chain's agreement with the operator says so
    direct_true_api_until: date = DIRECT_UNTIL


async def build(keys: TrueApiKeys, verify: VerifySettings) -> Backend:
    """Discovers the CDN's hosts first: a VerifyError if it cannot."""
    backend = TrueApiBackend(keys.true_api_cdn_url, keys.true_api_key, until=keys.direct_true_api_until)
    try:
        await backend.start()
    except BaseException:
        await backend.aclose()
        raise
    return backend
