"""The services that answer a mark-code check, behind one interface and one error family.

- ``TsPiotBackend``: the certified TS PIoT gateway (codes Base64, ``client_info``);
- ``TrueApiBackend``: True API direct, with CDN discovery, health ranking, background
  refresh every 6-7 h and a failing host benched for 15 min;
- ``LocalModuleBackend``: the store's Local Module (КИ only, Basic auth, ``X-ClientId``).

All share one ``httpx.AsyncClient`` per backend (keep-alive: no TLS set-up on the scan
path) and raise ``VerifyError`` with a stable ``code``; the chain (``chain.py``) decides
what to do next. Request and answer shapes: docs/sources.md §2.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
import time
from abc import ABC, abstractmethod
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Final

import httpx

from edge_agent.codes import Identity
from edge_agent.errors import EdgeError
from edge_agent.verify.policy import CheckContext, CodeAnswer, Source

log = logging.getLogger(__name__)

REQUEST_TIMEOUT_S: Final = 1.5
BENCH_S: Final = 15 * 60
REFRESH_S: Final = (6 * 3600, 7 * 3600)
SYNC_LIMIT_S: Final = 72 * 3600
SYNC_ALARM_S: Final = 48 * 3600
GROUP_IDS: Final = {
    "lp": 1,
    "shoes": 2,
    "tobacco": 3,
    "perfumery": 4,
    "tires": 5,
    "electronics": 6,
    "pharma": 7,
    "milk": 8,
    "bicycle": 9,
    "wheelchairs": 10,
    "water": 13,
    "furs": 14,
    "beer": 15,
    "ncp": 16,
    "bio": 17,
    "antiseptic": 19,
    "nabeer": 22,
    "softdrinks": 23,
}


class VerifyError(EdgeError):
    """A check that did not produce an answer. ``code`` is one of: unauthorized, rate_limited,
    server_error, request_error, timeout, connection, bad_response, no_mark_code, not_ready,
    out_of_sync, no_host."""

    @property
    def try_elsewhere(self) -> bool:
        """Another host or service may answer (not so for a bad token or a bad request)."""
        return self.code not in ("unauthorized", "request_error", "no_mark_code")


@dataclass(frozen=True, slots=True)
class CheckResult:
    answer: CodeAnswer
    context: CheckContext


def _group(item: Identity) -> int | None:
    return GROUP_IDS.get(item.groups[0]) if len(item.groups) == 1 else None


async def _post(client: httpx.AsyncClient, url: str, **kwargs: Any) -> Any:
    try:
        response = await client.post(url, **kwargs)
    except httpx.TimeoutException as e:
        raise VerifyError("timeout", f"{url}: no answer in time ({type(e).__name__})") from None
    except httpx.TransportError as e:
        raise VerifyError("connection", f"{url}: {type(e).__name__}: {e}") from None
    return _json(response)


def _json(response: httpx.Response) -> Any:
    status = response.status_code
    if status in {401, 403}:
        raise VerifyError("unauthorized", f"{response.url}: HTTP {status} (check the token or credentials)")
    if status == 429:
        raise VerifyError("rate_limited", f"{response.url}: HTTP 429")
    if status >= 500:
        raise VerifyError("server_error", f"{response.url}: HTTP {status}")
    try:
        body = response.json()
    except ValueError:
        raise VerifyError("bad_response", f"{response.url}: HTTP {status} with a body that is not JSON") from None
    if status >= 400:
        raise VerifyError("request_error", f"{response.url}: HTTP {status}: {body}")
    return body


def _results(entries: Any, count: int, source: Source, offline_default: bool) -> list[CheckResult]:
    """Answer entries ``{code, codes:[...], reqId, reqTimestamp, inst?, version?, isCheckedOffline?}``."""
    if not isinstance(entries, list) or len(entries) != count:
        raise VerifyError("bad_response", f"expected {count} answers, got {entries!r:.200}")
    out = []
    for entry in entries:
        codes = entry.get("codes") if isinstance(entry, dict) else None
        if not codes or not isinstance(codes[0], dict) or "reqId" not in entry:
            raise VerifyError("bad_response", f"answer without codes or reqId: {entry!r:.200}")
        offline = bool(entry.get("isCheckedOffline", offline_default))
        context = CheckContext(
            source,
            str(entry["reqId"]),
            int(entry.get("reqTimestamp", 0)),
            offline,
            entry.get("inst"),
            entry.get("version"),
        )
        out.append(CheckResult(CodeAnswer.from_json(codes[0]), context))
    return out


def _mark_codes(items: Sequence[Identity]) -> list[str]:
    codes = []
    for item in items:
        if item.mark_code is None:
            raise VerifyError("no_mark_code", f"{item.ki}: the full mark code is needed (scan the DataMatrix)")
        codes.append(item.mark_code)
    return codes


class Backend(ABC):
    source: Source

    def __init__(self, client: httpx.AsyncClient | None = None, timeout: float = REQUEST_TIMEOUT_S) -> None:
        self.client = client or httpx.AsyncClient(timeout=timeout, limits=httpx.Limits(max_keepalive_connections=8))

    @abstractmethod
    async def check(self, items: Sequence[Identity]) -> list[CheckResult]:
        """One answer per item, in order, or VerifyError for the whole batch."""

    async def start(self) -> None:
        """Warm up (discovery, connections); default: nothing to do."""
        return None

    async def aclose(self) -> None:
        await self.client.aclose()


class TsPiotBackend(Backend):
    source = Source.TS_PIOT

    def __init__(self, base_url: str, client_info: dict[str, str], api_version: int = 2, **kw: Any) -> None:
        super().__init__(**kw)
        self.url = f"{base_url.rstrip('/')}/api/v{api_version}/codes/check"
        self.client_info = client_info

    async def check(self, items: Sequence[Identity]) -> list[CheckResult]:
        _mark_codes(items)
        codes = [{"cis": item.ts_piot_code, **({"pg": g} if (g := _group(item)) else {})} for item in items]
        body = await _post(self.client, self.url, json={"codes": codes, "client_info": self.client_info})
        entries = body.get("codesResponse") if isinstance(body, dict) else None
        return _results(entries, len(items), self.source, False)


class TrueApiBackend(Backend):
    """True API direct. ``start()`` discovers and ranks hosts and keeps doing it in the
    background; a host that fails a check is benched for 15 min and the next one is tried."""

    source = Source.TRUE_API

    def __init__(self, cdn_url: str, api_key: str, bench_s: float = BENCH_S, **kw: Any) -> None:
        super().__init__(**kw)
        self.cdn_url, self.api_key, self.bench_s = cdn_url.rstrip("/"), api_key, bench_s
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

    async def start(self) -> None:
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


class LocalModuleBackend(Backend):
    source = Source.LOCAL_MODULE

    def __init__(self, base_url: str, user: str, password: str, client_id: str, **kw: Any) -> None:
        super().__init__(**kw)
        self.base = base_url.rstrip("/")
        self.auth = httpx.BasicAuth(user, password)
        self.client_id = client_id

    async def status(self) -> dict[str, Any]:
        """The Local Module's status, with ``sync_age_s`` and ``sync_alarm`` (48 h of the 72 h)."""
        try:
            response = await self.client.get(f"{self.base}/api/v1/status", auth=self.auth)
        except httpx.HTTPError as e:
            raise VerifyError("connection", f"Local Module status: {type(e).__name__}") from None
        body: dict[str, Any] = _json(response)
        last_sync = body.get("lastSync")
        age = time.time() - last_sync / 1000 if isinstance(last_sync, int | float) else None
        body["sync_age_s"] = age
        body["sync_alarm"] = age is not None and age > SYNC_ALARM_S
        return body

    async def check(self, items: Sequence[Identity]) -> list[CheckResult]:
        cis_list = [{"cis": item.local_module_code, **({"pg": g} if (g := _group(item)) else {})} for item in items]
        try:
            response = await self.client.post(
                f"{self.base}/api/v2/cis/outCheck",
                json={"cis_list": cis_list},
                auth=self.auth,
                headers={"X-ClientId": self.client_id},
            )
        except httpx.TimeoutException:
            raise VerifyError("timeout", "Local Module: no answer in time") from None
        except httpx.TransportError as e:
            raise VerifyError("connection", f"Local Module: {type(e).__name__}") from None
        if response.status_code == 400:
            with contextlib.suppress(ValueError):
                error = response.json().get("errorCode")
                if error == 4050:
                    raise VerifyError("out_of_sync", "Local Module in sync_error: more than 72 h since its last sync")
                if error == 4045:
                    raise VerifyError("not_ready", "Local Module is not configured or still initialising")
        body = _json(response)
        return _results(body.get("results") if isinstance(body, dict) else None, len(items), self.source, True)
