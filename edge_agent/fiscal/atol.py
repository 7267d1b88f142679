"""ATOL's Web-server (ДТО 10) over HTTP: the register driver (docs/fiscal.md).

Requests are ``POST {url}/api/v2/requests`` with a client-chosen uuid, answered by polling
``GET {url}/api/v2/requests/{uuid}`` until every task is ``ready`` (or one is ``error``); a
``deviceID`` picks the register when one server drives several. One warm HTTP/1.1 connection
per register, a deadline on every call. ``submit`` asks for the uuid before posting it, so a
retry after a crash or a lost answer never runs a request twice.
"""

from __future__ import annotations

import asyncio
import time
import uuid as uuidlib
from collections.abc import Mapping, Sequence
from typing import Any, Final, Literal

import httpx

from edge_agent.config_types import Url
from edge_agent.fiscal.atol_tasks import begin_task, fiscal_document, receipt_task
from edge_agent.fiscal.document import DocumentError, FiscalDocument
from edge_agent.fiscal.marks import PIECE, CheckAnswerError, EstimatedStatus, MarkCheck, Measure, read_status
from edge_agent.fiscal.receipt import Receipt
from edge_agent.fiscal.register import (
    FiscalRegister,
    RegisterError,
    RegisterSettings,
    RegisterStatus,
    Shift,
    task_error,
)

PENDING: Final = frozenset({"wait", "inProgress", "blocked"})


class AtolRegister:
    def __init__(
        self,
        url: str,
        device_id: str | None = None,
        operator: Mapping[str, str] | None = None,
        *,
        timeout_s: float = 2.0,
        task_deadline_s: float = 30.0,
        poll_s: float = 0.02,
    ) -> None:
        self.base = url.rstrip("/") + "/api/v2"
        self.params = {"deviceID": device_id} if device_id else {}
        self.operator = dict(operator or {"name": "SCO"})
        self.task_deadline_s, self.poll_s = task_deadline_s, poll_s
        self._http = httpx.AsyncClient(timeout=httpx.Timeout(timeout_s), limits=httpx.Limits(max_connections=2))

    async def aclose(self) -> None:
        await self._http.aclose()

    async def _get(self, path: str) -> httpx.Response:
        try:
            return await self._http.get(self.base + path, params=self.params)
        except httpx.HTTPError as e:
            raise RegisterError("unavailable", f"register at {self.base}: {type(e).__name__} {e}") from None

    # -- requests -----------------------------------------------------------------------------
    async def print_receipt(self, uuid: str, receipt: Receipt) -> FiscalDocument:
        return _document((await self.submit(uuid, [receipt_task(receipt)]))[0])

    async def submit(self, uuid: str, tasks: Sequence[Mapping[str, Any]]) -> list[dict[str, Any]]:
        found = await self._get(f"/requests/{uuid}")
        if found.status_code == 404:
            await self._post(uuid, tasks)
        elif found.status_code != 200:
            raise RegisterError("bad_answer", f"GET request {uuid}: HTTP {found.status_code}")
        return await self._results(uuid)

    async def _post(self, uuid: str, tasks: Sequence[Mapping[str, Any]]) -> None:
        try:
            r = await self._http.post(
                self.base + "/requests", params=self.params, json={"uuid": uuid, "request": list(tasks)}
            )
        except httpx.HTTPError as e:  # it may have been queued: the next submit asks first
            raise RegisterError("unavailable", f"POST request {uuid}: {type(e).__name__} {e}", unknown=True) from None
        if r.status_code == 409:
            return  # already there (a retry raced its own first send): follow it
        if r.status_code not in (200, 201):
            raise RegisterError("bad_answer", f"POST request {uuid}: HTTP {r.status_code} {r.text[:200]}")

    async def _results(self, uuid: str) -> list[dict[str, Any]]:
        deadline = time.monotonic() + self.task_deadline_s
        while True:
            r = await self._get(f"/requests/{uuid}")
            if r.status_code != 200:
                raise RegisterError(
                    "unknown_uuid" if r.status_code == 404 else "bad_answer",
                    f"GET request {uuid}: HTTP {r.status_code}",
                    unknown=True,
                )
            try:
                body = r.json()
            except ValueError:
                body = None
            results = read_results(body, uuid)
            if results is not None:
                return results
            if time.monotonic() > deadline:
                raise RegisterError(
                    "unavailable", f"request {uuid} not done after {self.task_deadline_s} s", unknown=True
                )
            await asyncio.sleep(self.poll_s)

    async def _one(self, task: Mapping[str, Any], attempts: int = 3) -> dict[str, Any]:
        """One task as its own request; an answer lost on the way is asked for again (same uuid)."""
        uuid = str(uuidlib.uuid4())
        for attempt in range(attempts):
            try:
                return (await self.submit(uuid, [task]))[0]
            except RegisterError as e:
                if not e.unknown or attempt == attempts - 1:
                    raise
                await asyncio.sleep(self.poll_s)
        raise AssertionError("unreachable")

    # -- marks --------------------------------------------------------------------------------
    async def check_mark(
        self, code: str, status: EstimatedStatus = "itemPieceSold", measure: Measure = PIECE
    ) -> MarkCheck:
        try:
            await self._one(begin_task(code, status, measure))
        except RegisterError as e:
            if e.kind != "validation_running":
                raise
            # a check left running (the agent restarted mid-check): cancel it and begin again
            await self._one({"type": "cancelMarkingCodeValidation"})
            await self._one(begin_task(code, status, measure))
        deadline = time.monotonic() + self.task_deadline_s
        while True:
            try:
                check = read_status(await self._one({"type": "getMarkingCodeValidationStatus"}))
            except CheckAnswerError as e:
                await self._one({"type": "declineMarkingCode"})
                raise RegisterError("bad_answer", str(e)) from None
            if check is not None:
                break
            if time.monotonic() > deadline:
                await self._one({"type": "cancelMarkingCodeValidation"})
                raise RegisterError("unavailable", f"the mark code check took over {self.task_deadline_s} s")
            await asyncio.sleep(self.poll_s)
        await self._one({"type": "declineMarkingCode" if check.refusal() else "acceptMarkingCode"})
        return check

    # -- shifts and state ---------------------------------------------------------------------
    async def shift(self) -> Shift:
        return _shift(await self._one({"type": "getShiftStatus"}))

    async def open_shift(self) -> None:
        await self._one({"type": "openShift", "operator": self.operator})

    async def close_shift(self) -> FiscalDocument:
        return _document(await self._one({"type": "closeShift", "operator": self.operator}))

    async def status(self) -> RegisterStatus:
        shift, device, fn, ofd = await self.submit(
            str(uuidlib.uuid4()),
            [
                {"type": "getShiftStatus"},
                {"type": "getDeviceStatus"},
                {"type": "getFnStatus"},
                {"type": "ofdExchangeStatus"},
            ],
        )
        try:
            dev, fn_s, ofd_s = device.get("deviceStatus", {}), fn.get("fnStatus", {}), ofd.get("status", {})
            return RegisterStatus(
                _shift(shift),
                str(fn_s.get("serial", "")),
                int(ofd_s.get("notSentCount", 0)),
                ofd_s.get("notSentFirstDocDateTime"),
                bool(fn_s.get("blocked")),
                bool(dev.get("paperPresent", True)),
                bool(dev.get("coverOpened", False)),
            )
        except (AttributeError, TypeError, ValueError):
            raise RegisterError("bad_answer", "the register's status is not of the documented shape") from None


def _document(result: Mapping[str, Any]) -> FiscalDocument:
    try:
        return fiscal_document(result)
    except DocumentError as e:  # done on the register, but its answer is unreadable
        raise RegisterError("bad_answer", str(e)) from None


def _shift(result: Mapping[str, Any]) -> Shift:
    try:
        s = result["shiftStatus"]
        state = s["state"]
        if state not in ("opened", "closed", "expired"):
            raise ValueError(state)
        return Shift(state, int(s.get("number", 0)), s.get("expiredTime"))
    except (KeyError, TypeError, ValueError, AttributeError):
        raise RegisterError("bad_answer", f"not a shift status: {str(result)[:200]}") from None


def read_results(body: object, uuid: str = "") -> list[dict[str, Any]] | None:
    """A ``GET /requests/{uuid}`` answer: the tasks' results once all are ready, None while any
    is still waiting, a ``RegisterError`` for a task that failed or an answer of another shape."""
    items = body.get("results") if isinstance(body, dict) else None
    if not isinstance(items, list) or not items or not all(isinstance(i, dict) for i in items):
        raise RegisterError("bad_answer", f"request {uuid}: not an ATOL results answer", unknown=True)
    statuses = [status if isinstance(status := item.get("status"), str) else "" for item in items]
    for item, status in zip(items, statuses, strict=True):
        if status == "error":
            err = item.get("error")
            err = err if isinstance(err, dict) else {}
            code = err.get("code")
            raise task_error(code if isinstance(code, int) else 0, str(err.get("description", "")))
    if any(status in PENDING for status in statuses):
        return None
    if not all(status == "ready" for status in statuses):
        raise RegisterError("bad_answer", f"request {uuid}: unknown task status", unknown=True)
    return [dict(r) if isinstance(r := item.get("result"), dict) else {} for item in items]


class AtolSettings(RegisterSettings):
    """A register behind ATOL's Web-server (its JSON tasks over HTTP): ``model = "atol"``, the
    default."""

    model: Literal["atol"] = "atol"
    url: Url = "http://127.0.0.1:16732"
    #: which register of that server (its deviceID); None: the server's only one
    device_id: str | None = None

    def build(self, *, operator: Mapping[str, str], timeout_s: float, task_deadline_s: float) -> FiscalRegister:
        return AtolRegister(self.url, self.device_id, operator, timeout_s=timeout_s, task_deadline_s=task_deadline_s)
