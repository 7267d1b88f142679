"""An ATOL Web-server with fiscal registers behind it, on real HTTP (docs/fiscal.md).

``POST /api/v2/requests`` ``{"uuid", "request": [task, ...]}`` (or one task object, as
``atol-client`` sends it) queues a request for a device (``?deviceID=``; one default device
otherwise): 201, or 409 for a uuid it already has; ``GET /api/v2/requests/{uuid}`` answers
``{"results": [{"status", "error": {"code", "description"}, "result"}]}`` (404 for an unknown
uuid). Also ``GET /`` (what is here), ``/api/v2/serverInfo``, ``/api/v2/devices`` and the
synchronous queries ``/api/v2/operations/queryDeviceInfo``, ``queryShiftStatus``,
``queryFnStatus``, ``queryOfdExchangeStatus``; a trailing slash is the same path. Each device runs its requests one at a
time, in order, taking ``task_s`` per printed document and ``validation_s`` per mark-code
check. Shapes from ATOL's Web-server documentation, as docs/fiscal.md gives them.

A device keeps what a real one would: a shift (opened, closed, or expired after
``shift_hours``), fiscal documents numbered on its ФН with a fiscal sign, the mark codes
checked and accepted for the next receipt (only one check at a time: a second begin is
error 401), and the ОФД queue (unsent documents; the ФН blocks after 30 days). Faults:
``paper_out``, ``cover_open``, ``power_loss`` (the next receipt is lost mid-print: an
error, nothing printed), ``lose_answer`` (the POST is carried out, its answer dropped),
``offline`` (every connection dropped), ``refuse`` (every task answers an error), and
latency. ``receipts`` is what was printed, for tests and the demo's summary.

Run alone: ``edge-agent sim kkt``.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import re
import time
import urllib.parse
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Final

from sim.http import Drop, JsonServer, Request, Response

OFD_BLOCK_S: Final = 30 * 24 * 3600
DEFAULT_DEVICE: Final = "default"
#: task error codes (edge_agent.fiscal.register.TASK_ERRORS maps them back)
PAPER_OUT, COVER_OPEN, SHIFT_EXPIRED, SHIFT_CLOSED, FN_BLOCKED, VALIDATION_RUNNING, NOT_CHECKED = (
    44,
    45,
    68,
    69,
    151,
    401,
    421,
)
POWER_LOSS, REFUSED, BAD_TASK, SHIFT_OPENED = 2, 999, 16, 67
SERVER_VERSION: Final = "10.10.6.0"  # the ДТО 10 Web-server release whose answers this follows
MODEL: Final = "АТОЛ 30Ф (simulated)"
#: ``/api/v2/operations/{name}`` -> the task it runs at once, outside the device's queue
QUERIES: Final = {
    "queryDeviceInfo": "getDeviceInfo",
    "queryShiftStatus": "getShiftStatus",
    "queryFnStatus": "getFnInfo",
    "queryOfdExchangeStatus": "ofdExchangeStatus",
}


class TaskFailed(Exception):
    def __init__(self, code: int, description: str) -> None:
        super().__init__(description)
        self.code, self.description = code, description


@dataclass
class Device:
    fn_number: str = "9999078900012345"
    registration_number: str = "0000000001012345"
    task_s: float = 0.0  # a printed document (sell, sellReturn, Z-report)
    validation_s: float = 0.0  # one mark-code check (online at the ОИСМ)
    offline_checks: bool = False  # the ФН alone checks codes (no ОИСМ answer)
    shift_hours: float = 24.0
    clock_offset_s: float = 0.0  # how far the device's clock is ahead (shift expiry, ОФД block)
    ofd_online: bool = True
    # faults
    paper: bool = True
    cover_open: bool = False
    power_loss: int = 0  # the next N receipts die mid-print
    lose_answer: int = 0  # the next N POSTs are carried out, their answers dropped
    offline: bool = False
    refuse: bool = False
    #: codes (as printed) whose check says: sale stopped / crypto tail wrong
    stopped: set[str] = field(default_factory=set)
    bad_crypto: set[str] = field(default_factory=set)
    # state
    shift_state: str = "closed"
    shift_number: int = 0
    shift_opened_at: float = 0.0
    fd: int = 0
    receipt_in_shift: int = 0
    accepted: dict[str, dict[str, Any]] = field(default_factory=dict)  # imc (Base64) -> check
    validating: dict[str, Any] | None = None
    unsent: list[float] = field(default_factory=list)  # times of documents not yet at the ОФД
    receipts: list[dict[str, Any]] = field(default_factory=list)
    shifts: list[dict[str, Any]] = field(default_factory=list)
    checks: int = 0
    queue: asyncio.Queue[tuple[str, list[dict[str, Any]]]] = field(default_factory=asyncio.Queue)

    def now(self) -> float:
        return time.time() + self.clock_offset_s

    def shift_status(self) -> str:
        if self.shift_state == "opened" and self.now() - self.shift_opened_at > self.shift_hours * 3600:
            return "expired"
        return self.shift_state

    def ofd_tick(self) -> None:
        if self.ofd_online:
            self.unsent.clear()

    def fn_blocked(self) -> bool:
        self.ofd_tick()
        return bool(self.unsent) and self.now() - self.unsent[0] > OFD_BLOCK_S


class KktSim:
    """One Web-server; ``devices`` by deviceID."""

    def __init__(self, devices: dict[str, Device] | None = None, host: str = "127.0.0.1", port: int = 0) -> None:
        self.devices = devices or {DEFAULT_DEVICE: Device()}
        self.server = JsonServer(self.handle, host, port)
        self.requests: dict[str, dict[str, Any]] = {}  # uuid -> {"device", "results"}
        self._workers: list[asyncio.Task[None]] = []

    @property
    def url(self) -> str:
        return self.server.url

    async def start(self) -> KktSim:
        await self.server.start()
        self._workers = [asyncio.create_task(self._work(d)) for d in self.devices.values()]
        return self

    async def stop(self) -> None:
        for task in self._workers:
            task.cancel()
        await asyncio.gather(*self._workers, return_exceptions=True)
        await self.server.stop()

    def device(self, device_id: str | None = None) -> Device:
        return self.devices[device_id or next(iter(self.devices))]

    def receipts(self) -> list[dict[str, Any]]:
        return [r for d in self.devices.values() for r in d.receipts]

    # -- HTTP ---------------------------------------------------------------------------------
    async def handle(self, req: Request) -> Response:
        query = dict(urllib.parse.parse_qsl(req.query))
        device_id = query.get("deviceID") or next(iter(self.devices))
        device = self.devices.get(device_id)
        if device is None:
            return Response(404, {"error": {"code": 404, "description": f"no device {device_id}"}})
        if device.offline:
            raise Drop
        path = req.path.rstrip("/") or "/"
        if req.method == "GET" and path in ("/", "/api/v2", "/api/v2/serverInfo", "/api/v2/devices"):
            return self._about(path)
        if req.method == "GET" and path.startswith("/api/v2/operations/"):
            return await self._query(device, path.rsplit("/", 1)[1])
        if req.method == "POST" and path == "/api/v2/requests":
            return self._post(req, device, device_id)
        if req.method == "GET" and path.startswith("/api/v2/requests/"):
            found = self.requests.get(path.rsplit("/", 1)[1])
            if found is None:
                return Response(404, {"error": {"code": 404, "description": "no such request"}})
            return Response(200, {"results": found["results"]})
        return Response(404, {"error": {"code": 404, "description": f"no {req.method} {req.path}"}})

    def _post(self, req: Request, device: Device, device_id: str) -> Response:
        body = req.json()
        request = body.get("request") if isinstance(body, dict) else None
        if isinstance(request, dict):  # one task, not a list of them (atol-client sends it so)
            request = [request]
        if not isinstance(body, dict) or not isinstance(body.get("uuid"), str) or not isinstance(request, list):
            return Response(
                400, {"error": {"code": 400, "description": "uuid and request (a task or a list) required"}}
            )
        uuid = body["uuid"]
        if uuid in self.requests:
            return Response(409, {"error": {"code": 409, "description": f"request {uuid} exists"}})
        tasks = [t for t in request if isinstance(t, dict)]
        self.requests[uuid] = {
            "device": device_id,
            "results": [{"status": "wait", "error": {"code": 0, "description": ""}, "result": None} for _ in tasks],
        }
        device.queue.put_nowait((uuid, [t | {"_uuid": uuid} for t in tasks]))
        if device.lose_answer:
            device.lose_answer -= 1
            raise Drop
        return Response(201, {})

    def _about(self, path: str) -> Response:
        devices = [
            {"deviceID": i, "isDefault": n == 0, "isActive": not d.offline, "model": MODEL, "fnSerial": d.fn_number}
            for n, (i, d) in enumerate(self.devices.items())
        ]
        if path == "/api/v2/devices":
            return Response(200, {"devices": devices})
        info = {"version": SERVER_VERSION, "apiVersion": "v2", "simulated": True}
        if path == "/api/v2/serverInfo":
            return Response(200, info)
        return Response(200, {"name": "ATOL Web-server (edge-agent simulator)", "api": "/api/v2", **info})

    async def _query(self, device: Device, name: str) -> Response:
        """A synchronous query: the task's result at once, as the device would give it now."""
        task = QUERIES.get(name)
        if task is None:
            return Response(404, {"error": {"code": 404, "description": f"no operation {name}"}})
        try:
            return Response(200, await self._run(device, {"type": task}))
        except TaskFailed as e:
            return Response(500, {"error": {"code": e.code, "description": e.description}})

    async def _work(self, device: Device) -> None:
        while True:
            uuid, tasks = await device.queue.get()
            results = self.requests[uuid]["results"]
            failed = False
            for n, task in enumerate(tasks):
                if failed:
                    results[n] = {
                        "status": "error",
                        "error": {"code": BAD_TASK, "description": "not run: a task before it failed"},
                        "result": None,
                    }
                    continue
                results[n]["status"] = "inProgress"
                try:
                    result = await self._run(device, task)
                    results[n] = {"status": "ready", "error": {"code": 0, "description": ""}, "result": result}
                except TaskFailed as e:
                    failed = True
                    results[n] = {
                        "status": "error",
                        "error": {"code": e.code, "description": e.description},
                        "result": None,
                    }

    # -- the device ---------------------------------------------------------------------------
    async def _run(self, d: Device, task: dict[str, Any]) -> dict[str, Any]:
        kind = task.get("type")
        if d.refuse:
            raise TaskFailed(REFUSED, "the register refuses every task (simulated)")
        handler = {
            "openShift": self._open_shift,
            "closeShift": self._close_shift,
            "getShiftStatus": self._shift_status,
            "sell": self._receipt,
            "sellReturn": self._receipt,
            "beginMarkingCodeValidation": self._begin,
            "getMarkingCodeValidationStatus": self._validation_status,
            "acceptMarkingCode": self._accept,
            "declineMarkingCode": self._decline,
            "cancelMarkingCodeValidation": self._cancel_validation,
            "ofdExchangeStatus": self._ofd_status,
            "getDeviceStatus": self._device_status,
            "getFnStatus": self._fn_status,
            "getDeviceInfo": self._device_info,
            "getFnInfo": self._fn_info,
            "getRegistrationInfo": self._registration_info,
            "reportX": self._report_x,
            "continuePrint": self._continue_print,
            "printLastReceiptCopy": self._last_receipt_copy,
        }.get(str(kind))
        if handler is None:
            raise TaskFailed(BAD_TASK, f"unknown task type {kind!r}")
        return await handler(d, task)

    @staticmethod
    def _printer(d: Device) -> None:
        if not d.paper:
            raise TaskFailed(PAPER_OUT, "out of paper")
        if d.cover_open:
            raise TaskFailed(COVER_OPEN, "the printer cover is open")
        if d.fn_blocked():
            raise TaskFailed(FN_BLOCKED, "ФН blocked: documents not sent to the ОФД for 30 days")

    def _document(self, d: Device) -> dict[str, Any]:
        d.fd += 1
        d.unsent.append(d.now())
        d.ofd_tick()
        at = datetime.fromtimestamp(d.now(), UTC).strftime("%Y-%m-%dT%H:%M:%S")
        sign = int.from_bytes(hashlib.sha256(f"{d.fn_number}:{d.fd}:{at}".encode()).digest()[:4], "big")
        return {
            "fiscalDocumentNumber": d.fd,
            "fiscalDocumentSign": str(sign),
            "fiscalDocumentDateTime": at,
            "shiftNumber": d.shift_number,
            "fnNumber": d.fn_number,
            "registrationNumber": d.registration_number,
            "fnsUrl": "www.nalog.gov.ru",
        }

    async def _open_shift(self, d: Device, task: dict[str, Any]) -> dict[str, Any]:
        self._printer(d)
        if d.shift_status() != "closed":
            raise TaskFailed(SHIFT_OPENED, f"the shift is {d.shift_status()}: close it first")
        await asyncio.sleep(d.task_s)
        d.shift_state, d.shift_number, d.shift_opened_at, d.receipt_in_shift = "opened", d.shift_number + 1, d.now(), 0
        return {"fiscalParams": self._document(d)}

    async def _close_shift(self, d: Device, task: dict[str, Any]) -> dict[str, Any]:
        self._printer(d)
        if d.shift_status() == "closed":
            raise TaskFailed(SHIFT_CLOSED, "the shift is closed")
        await asyncio.sleep(d.task_s)
        doc = self._document(d)
        d.shifts.append({"number": d.shift_number, "receipts": d.receipt_in_shift, "fd": doc["fiscalDocumentNumber"]})
        d.shift_state = "closed"
        return {"fiscalParams": doc}

    async def _shift_status(self, d: Device, task: dict[str, Any]) -> dict[str, Any]:
        expires = datetime.fromtimestamp(d.shift_opened_at + d.shift_hours * 3600, UTC).isoformat()
        return {
            "shiftStatus": {
                "state": d.shift_status(),
                "number": d.shift_number,
                "expiredTime": expires if d.shift_state == "opened" else None,
            }
        }

    async def _receipt(self, d: Device, task: dict[str, Any]) -> dict[str, Any]:
        self._printer(d)
        state = d.shift_status()
        if state == "expired":
            raise TaskFailed(SHIFT_EXPIRED, "the shift is over 24 hours: close it")
        if state == "closed":
            raise TaskFailed(SHIFT_CLOSED, "the shift is closed: open it")
        items = [i for i in task.get("items", []) if isinstance(i, dict)]
        codes = [i["imcParams"]["imc"] for i in items if isinstance(i.get("imcParams"), dict)]
        missing = [c for c in codes if c not in d.accepted]
        if missing:
            raise TaskFailed(NOT_CHECKED, f"{len(missing)} mark code(s) not checked on this register")
        for n, item in enumerate(items, start=1):
            imc_params = item.get("imcParams")
            if isinstance(imc_params, dict):
                checked, sold = d.accepted[imc_params["imc"]]["sale"], _sale_params(imc_params)
                if checked != sold:
                    raise TaskFailed(BAD_TASK, f"position {n}: its code was checked as {checked}, sold as {sold}")
                if imc_params.get("itemUnits") == "kilogram" and (
                    item.get("measurementUnit") != "kilogram" or item.get("quantity") != imc_params.get("itemQuantity")
                ):
                    raise TaskFailed(BAD_TASK, f"position {n}: a weighed item's quantity is not its checked weight")
                if "itemFractionalAmount" in imc_params and item.get("quantity") != 1:
                    raise TaskFailed(BAD_TASK, f"position {n}: a part of a pack is one position of quantity 1")
        total = round(sum(float(i.get("amount", 0)) for i in items), 2)
        paid = round(sum(float(p.get("sum", 0)) for p in task.get("payments", [])), 2)
        if total != paid or not items:
            raise TaskFailed(BAD_TASK, f"positions {total} but payments {paid}")
        if d.power_loss:
            d.power_loss -= 1
            await asyncio.sleep(d.task_s / 2)
            raise TaskFailed(POWER_LOSS, "power lost mid-receipt: the document was cancelled")
        await asyncio.sleep(d.task_s)
        for c in codes:
            d.accepted.pop(c, None)
        d.receipt_in_shift += 1
        doc = self._document(d) | {"fiscalReceiptNumber": d.receipt_in_shift}
        d.receipts.append(
            {
                "uuid": task.get("_uuid"),
                "kind": task["type"],
                "total": total,
                "items": items,
                "payments": task.get("payments"),
                "client": task.get("clientInfo"),
                "operator": task.get("operator"),
                **doc,
            }
        )
        return {"fiscalParams": doc}

    async def _begin(self, d: Device, task: dict[str, Any]) -> dict[str, Any]:
        if d.validating is not None:
            raise TaskFailed(VALIDATION_RUNNING, "a mark code check is already running")
        params = task.get("params") or {}
        try:
            code = base64.b64decode(params["imc"], validate=True).decode()
        except (KeyError, ValueError, TypeError):
            raise TaskFailed(BAD_TASK, "imc must be the mark code in Base64") from None
        d.validating = {
            "imc": params["imc"],
            "code": code,
            "status": params.get("itemEstimatedStatus"),
            "sale": _sale_params(params),
            "ready_at": time.monotonic() + d.validation_s,
        }
        d.checks += 1
        return {"sentImcRequest": not d.offline_checks}

    async def _validation_status(self, d: Device, task: dict[str, Any]) -> dict[str, Any]:
        v = d.validating
        if v is None:
            raise TaskFailed(BAD_TASK, "no mark code check is running")
        if time.monotonic() < v["ready_at"]:
            return {"ready": False, "sentImcRequest": not d.offline_checks, "driverError": {"code": 0}}
        crypto = v["code"] not in d.bad_crypto
        # the operator knows a weighed item (its code carries AI 310n): sold as a piece, the
        # planned status (2003) is wrong
        weighed = re.search(r"\x1d310\d", v["code"]) is not None
        dry = v["status"] in ("itemDryForSale", "itemDryReturn")
        operator = (
            None
            if d.offline_checks
            else (
                "itemSaleStopped"
                if v["code"] in d.stopped
                else ("itemEstimatedStatusCorrect" if weighed == dry else "itemEstimatedStatusIncorrect")
            )
        )
        bits = {
            "imcCheckFlag": True,
            "imcCheckResult": crypto,
            "imcStatusInfo": operator is not None,
            "imcEstimatedStatusCorrect": operator == "itemEstimatedStatusCorrect",
            "ecrStandAloneFlag": d.offline_checks,
        }
        online = {
            "itemInfoCheckResult": bits,
            "markOperatorItemStatus": operator,
            "markOperatorResponseResult": None if operator is None else "correct",
            "imcType": "auto",
            "imcBarcode": v["code"],
            "imcModeProcessing": 0,
        }
        v["result"] = online
        return {
            "ready": True,
            "sentImcRequest": not d.offline_checks,
            "driverError": {"code": 0},
            "onlineValidation": online,
        }

    async def _accept(self, d: Device, task: dict[str, Any]) -> dict[str, Any]:
        v = d.validating
        if v is None or "result" not in v:
            raise TaskFailed(BAD_TASK, "no finished mark code check to accept")
        d.accepted[v["imc"]] = v["result"] | {"sale": v["sale"]}
        d.validating = None
        return {"itemInfoCheckResult": v["result"]["itemInfoCheckResult"]}

    async def _decline(self, d: Device, task: dict[str, Any]) -> dict[str, Any]:
        d.validating = None
        return {}

    async def _cancel_validation(self, d: Device, task: dict[str, Any]) -> dict[str, Any]:
        d.validating = None
        return {}

    async def _ofd_status(self, d: Device, task: dict[str, Any]) -> dict[str, Any]:
        d.ofd_tick()
        first = datetime.fromtimestamp(d.unsent[0], UTC).isoformat() if d.unsent else None
        return {"status": {"notSentCount": len(d.unsent), "notSentFirstDocDateTime": first}}

    async def _device_status(self, d: Device, task: dict[str, Any]) -> dict[str, Any]:
        return {
            "deviceStatus": {
                "paperPresent": d.paper,
                "coverOpened": d.cover_open,
                "blocked": d.fn_blocked(),
                "shift": d.shift_status(),
            }
        }

    async def _fn_status(self, d: Device, task: dict[str, Any]) -> dict[str, Any]:
        return {"fnStatus": {"serial": d.fn_number, "blocked": d.fn_blocked(), "fiscalDocumentNumber": d.fd}}

    async def _device_info(self, d: Device, task: dict[str, Any]) -> dict[str, Any]:
        return {
            "deviceInfo": {
                "model": 61,
                "modelName": MODEL,
                "serial": d.registration_number[-8:],
                "firmwareVersion": "5.8.100",
                "ffdVersion": "1.2",
                "receiptLineLength": 48,
            }
        }

    async def _fn_info(self, d: Device, task: dict[str, Any]) -> dict[str, Any]:
        return {
            "fnInfo": {
                "serial": d.fn_number,
                "ffdVersion": "1.2",
                "execution": "fiscal",
                "state": "blocked" if d.fn_blocked() else "fiscalMode",
                "numberOfRegistrations": 1,
                "lastFiscalDocumentNumber": d.fd,
            }
        }

    async def _registration_info(self, d: Device, task: dict[str, Any]) -> dict[str, Any]:
        return {
            "device": {"registrationNumber": d.registration_number, "fnSerial": d.fn_number, "ffdVersion": "1.2"},
            "organization": {"name": "ООО «Магазин»", "vatin": "7700000000", "taxationTypes": ["osn"]},
            "ofd": {"name": "simulated ОФД", "host": "ofd.example", "port": 21101},
        }

    async def _report_x(self, d: Device, task: dict[str, Any]) -> dict[str, Any]:
        self._printer(d)
        await asyncio.sleep(d.task_s)
        return {}  # an X report is printed, not a fiscal document

    async def _continue_print(self, d: Device, task: dict[str, Any]) -> dict[str, Any]:
        self._printer(d)
        return {}

    async def _last_receipt_copy(self, d: Device, task: dict[str, Any]) -> dict[str, Any]:
        self._printer(d)
        if not d.receipts:
            raise TaskFailed(BAD_TASK, "no receipt printed yet")
        return {}


FRACTION = re.compile(r"^([1-9][0-9]*)/([1-9][0-9]*)$")


def _sale_params(params: dict[str, Any]) -> dict[str, Any]:
    """What a mark check (or a receipt's ``imcParams``) says is sold: status, quantity, unit
    and part of a pack; ``TaskFailed`` for what ATOL refuses (a part that is not less than its
    pack, a weighed status in pieces, a zero)."""
    status = params.get("itemEstimatedStatus", "itemPieceSold")
    if status not in ("itemPieceSold", "itemPieceReturn", "itemDryForSale", "itemDryReturn"):
        raise TaskFailed(BAD_TASK, f"itemEstimatedStatus {status!r} is not a status this register knows")
    quantity, units = params.get("itemQuantity", 1), params.get("itemUnits", "piece")
    if not isinstance(quantity, int | float) or isinstance(quantity, bool) or quantity <= 0:
        raise TaskFailed(BAD_TASK, f"itemQuantity {quantity!r} must be a positive number")
    if status.startswith("itemDry") and units == "piece":
        raise TaskFailed(BAD_TASK, "a weighed or measured item (itemDry*) needs its unit (itemUnits)")
    fraction = params.get("itemFractionalAmount")
    if fraction is not None:
        m = FRACTION.match(str(fraction))
        if m is None or int(m[1]) >= int(m[2]):
            raise TaskFailed(BAD_TASK, f"itemFractionalAmount {fraction!r}: n/d with 0 < n < d")
        if status.startswith("itemDry"):
            raise TaskFailed(BAD_TASK, "a part of a pack is sold as a piece (itemPieceSold), not by weight")
    return {"status": status, "quantity": quantity, "units": units, "fraction": fraction}
