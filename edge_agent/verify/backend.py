"""What every service that answers a mark-code check shares: one interface (``Backend``), one
error family (``VerifyError``) and the parsing of their answers.

Each service is a file of its own (``ts_piot.py``, ``true_api.py``, ``local_module.py``), named
in ``registry.py``. Each keeps one ``httpx.AsyncClient`` (keep-alive: no TLS set-up on the scan
path) and raises ``VerifyError`` with a stable ``code``; the chain (``chain.py``) decides what
to do next. Request and answer shapes: docs/sources.md §2.
"""

from __future__ import annotations

import logging
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
