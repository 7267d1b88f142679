"""The Chestny Znak services a checkout talks to, as real HTTP servers on loopback.

- TS PIoT gateway: ``POST /api/v{n}/codes/check`` (codes Base64, ``client_info``), ``GET /api/v{n}/info``;
- True API: a CDN-info server (``GET /api/v4/true-api/cdn/info``) listing several check hosts,
  each with ``GET /api/v4/true-api/cdn/health/check`` and ``POST /api/v4/true-api/codes/check``
  (``X-API-KEY``);
- Local Module: ``GET /api/v1/status``, ``POST /api/v2/cis/outCheck`` (КИ only, Basic auth,
  ``X-ClientId``); ``sync_error`` 72 h after the last sync.

Shapes from docs/sources.md §2. A registry holds codes in every state;
each service (and each CDN host) has a ``Behaviour``: latency with a slow tail, forced HTTP
status, hanging, dropped connections, failing health checks. Run alone: ``edge-agent sim crpt``.
"""

from __future__ import annotations

import base64
import random
import time
import uuid
from dataclasses import dataclass, field
from typing import Any, Final

from edge_agent.codes import ParseError, parse
from sim.http import Drop, Hang, JsonServer, Request, Response

API_KEY: Final = "sim-api-key"
LM_AUTH: Final = "Basic " + base64.b64encode(b"admin:admin").decode()
SYNC_LIMIT_MS: Final = 72 * 3600 * 1000

STATES: Final[dict[str, dict[str, Any]]] = {
    "sellable": {},
    "sold": {"sold": True},
    "blocked": {"isBlocked": True, "ogvs": ["RPN"]},
    "expired": {"expireDate": "2020-01-01T00:00:00.000Z"},
    "not_found": {"found": False, "realizable": False, "utilised": False, "verified": False},
    "not_verified": {"verified": False, "errorCode": 6},
    "not_utilised": {"utilised": False},
    "not_realizable": {"realizable": False},
    "grey_tobacco": {"realizable": False, "grayZone": True, "groupIds": [3]},
}


@dataclass
class Behaviour:
    latency_s: float = 0.0
    #: share of requests that take ``tail_s`` instead (the slow tail beyond the 1.5 s budget)
    tail_share: float = 0.0
    tail_s: float = 2.0
    status: int | None = None  # answer every request with this HTTP status
    hang: bool = False
    drop: bool = False
    healthy: bool = True  # CDN hosts: the health check passes
    avg_time_ms: int = 50  # CDN hosts: what the health check reports
    rng: random.Random = field(default_factory=lambda: random.Random(0))

    async def apply(self) -> Response | None:
        import asyncio

        delay = self.tail_s if self.tail_share and self.rng.random() < self.tail_share else self.latency_s
        if delay:
            await asyncio.sleep(delay)
        if self.hang:
            raise Hang
        if self.drop:
            raise Drop
        if self.status is not None:
            return Response(self.status, {"code": self.status, "description": f"simulated HTTP {self.status}"})
        return None


class Registry:
    """The national system's view of codes, keyed by КИ."""

    def __init__(self) -> None:
        self.codes: dict[str, dict[str, Any]] = {}

    def add(self, code: str, state: str = "sellable", **fields: Any) -> str:
        item = parse(code)
        answer = {
            "cis": code,
            "valid": True,
            "found": True,
            "utilised": True,
            "verified": True,
            "realizable": True,
            "isBlocked": False,
            "sold": False,
            "gtin": item.gtin,
            "printView": item.ki,
            "errorCode": 0,
            "groupIds": [3] if item.kind == "tobacco_pack" else [],
        }
        answer.update(STATES[state])
        answer.update(fields)
        self.codes[item.ki] = answer
        return item.ki

    def answer(self, code: str) -> dict[str, Any]:
        try:
            item = parse(code)
        except ParseError:
            return {"cis": code, "valid": False, "found": False, "errorCode": 1}
        known = self.codes.get(item.ki)
        if known is None:
            return {
                "cis": code,
                "valid": True,
                "found": False,
                "utilised": False,
                "verified": False,
                "realizable": False,
                "errorCode": 10,
            }
        return {**known, "cis": code}


def _stamp() -> tuple[str, int]:
    return str(uuid.uuid4()), int(time.time() * 1000)


class CrptSim:
    def __init__(self, cdn_hosts: int = 3, host: str = "127.0.0.1", base_port: int = 0) -> None:
        """Ports: all free ones, or from ``base_port``: TS PIoT, CDN info, Local Module, hosts."""
        self.registry = Registry()
        self.ts_piot = Behaviour()
        #: GTINs whose TS PIoT check never answers (a request with one of them hangs)
        self.hang_gtins: set[str] = set()
        self.cdn = Behaviour()
        self.hosts = [Behaviour(avg_time_ms=50 + 10 * i) for i in range(cdn_hosts)]
        self.lm = Behaviour()
        self.lm_status = "ready"
        self.lm_last_sync_ms = int(time.time() * 1000)
        self.lm_inst, self.lm_version = "lm-sim-1", "2.1.0"

        def port(offset: int) -> int:
            return base_port + offset if base_port else 0

        self._servers = {
            "ts_piot": JsonServer(self._ts_piot, host, port(0)),
            "cdn": JsonServer(self._cdn, host, port(1)),
            "lm": JsonServer(self._lm, host, port(2)),
            **{f"host{i}": JsonServer(self._host_handler(i), host, port(3 + i)) for i in range(cdn_hosts)},
        }

    # -- lifecycle --------------------------------------------------------------------------
    async def start(self) -> None:
        for server in self._servers.values():
            await server.start()

    async def stop(self) -> None:
        for server in self._servers.values():
            await server.stop()

    async def __aenter__(self) -> CrptSim:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    def url(self, name: str) -> str:
        return self._servers[name].url

    def requests(self, name: str) -> int:
        return self._servers[name].requests

    @property
    def host_urls(self) -> list[str]:
        return [self.url(f"host{i}") for i in range(len(self.hosts))]

    # -- TS PIoT ----------------------------------------------------------------------------
    async def _ts_piot(self, req: Request) -> Response:
        if early := await self.ts_piot.apply():
            return early
        if req.method == "GET" and req.path.endswith("/info"):
            return Response(200, {"status": "ready", "version": "sim"})
        if req.method != "POST" or not req.path.endswith("/codes/check"):
            return Response(404, {"code": 404, "description": "not found"})
        body = req.json() or {}
        if not isinstance(body.get("client_info"), dict):
            return Response(400, {"code": 400, "description": "client_info is required"})
        out = []
        for item in body.get("codes", []):
            try:
                code = base64.b64decode(item["cis"], validate=True).decode("ascii")
            except (KeyError, ValueError):
                return Response(400, {"code": 400, "description": "cis must be Base64"})
            if self.hang_gtins and code[2:16] in self.hang_gtins:
                raise Hang  # this item's check never answers (one lane's items, in the lane isolation bench)
            req_id, ts = _stamp()
            out.append(
                {
                    "code": 0,
                    "description": "ok",
                    "codes": [self.registry.answer(code)],
                    "reqId": req_id,
                    "reqTimestamp": ts,
                    "isCheckedOffline": False,
                }
            )
        return Response(200, {"codesResponse": out})

    # -- True API ---------------------------------------------------------------------------
    async def _cdn(self, req: Request) -> Response:
        if early := await self.cdn.apply():
            return early
        if req.headers.get("x-api-key") != API_KEY:
            return Response(401, {"code": 401, "description": "bad token"})
        if req.path == "/api/v4/true-api/cdn/info":
            return Response(200, {"code": 0, "hosts": [{"host": u} for u in self.host_urls]})
        return Response(404, {"code": 404, "description": "not found"})

    def _host_handler(self, index: int) -> Any:
        async def handle(req: Request) -> Response:
            behaviour = self.hosts[index]
            if req.headers.get("x-api-key") != API_KEY:
                return Response(401, {"code": 401, "description": "bad token"})
            if req.path == "/api/v4/true-api/cdn/health/check":
                if not behaviour.healthy:
                    return Response(503, {"code": 1, "description": "unhealthy"})
                return Response(200, {"code": 0, "avgTimeMs": behaviour.avg_time_ms})
            if early := await behaviour.apply():
                return early
            if req.method == "POST" and req.path == "/api/v4/true-api/codes/check":
                codes = (req.json() or {}).get("codes", [])
                req_id, ts = _stamp()
                answers = [self.registry.answer(c) for c in codes]
                return Response(
                    200, {"code": 0, "description": "ok", "codes": answers, "reqId": req_id, "reqTimestamp": ts}
                )
            return Response(404, {"code": 404, "description": "not found"})

        return handle

    # -- Local Module -----------------------------------------------------------------------
    def lm_effective_status(self) -> str:
        if self.lm_status == "ready" and time.time() * 1000 - self.lm_last_sync_ms > SYNC_LIMIT_MS:
            return "sync_error"
        return self.lm_status

    async def _lm(self, req: Request) -> Response:
        if early := await self.lm.apply():
            return early
        if req.headers.get("authorization") != LM_AUTH:
            return Response(401, {"code": 401, "description": "bad credentials"})
        status = self.lm_effective_status()
        if req.method == "GET" and req.path.endswith("/status"):
            return Response(
                200,
                {
                    "status": status,
                    "lastSync": self.lm_last_sync_ms,
                    "inst": self.lm_inst,
                    "version": self.lm_version,
                    "operationMode": "active",
                },
            )
        if req.method != "POST" or not req.path.endswith("/cis/outCheck"):
            return Response(404, {"code": 404, "description": "not found"})
        if status != "ready":
            return Response(
                400, {"errorCode": 4050 if status == "sync_error" else 4045, "description": f"status is {status}"}
            )
        if not req.headers.get("x-clientid"):
            return Response(400, {"code": 400, "description": "X-ClientId is required"})
        results = []
        for item in (req.json() or {}).get("cis_list", []):
            ki = item["cis"] if isinstance(item, dict) else item
            full = self.registry.answer(ki)
            offline = {
                "cis": ki,
                "isBlocked": full.get("isBlocked", False),
                "sold": full.get("sold", False),
                "ogvs": full.get("ogvs", []),
                "found": False,
                "valid": False,
                "verified": False,
                "realizable": False,
                "utilised": False,
            }
            req_id, ts = _stamp()
            results.append(
                {
                    "code": 0,
                    "codes": [offline],
                    "reqId": req_id,
                    "reqTimestamp": ts,
                    "inst": self.lm_inst,
                    "version": self.lm_version,
                    "isCheckedOffline": True,
                }
            )
        return Response(200, {"results": results})
