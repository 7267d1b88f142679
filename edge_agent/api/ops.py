"""Operations: ``/healthz`` (readers, broker, verification backends, outbox depth) and
``/metrics`` (Prometheus)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response

router = APIRouter(tags=["ops"])


@router.get("/healthz", summary="Readers, broker, verification backends, outbox depth")
async def healthz(request: Request) -> JSONResponse:
    daemon = request.app.state.daemon
    readers = daemon.readers_health()
    sync = daemon.sync
    broker: dict[str, Any] = {"enabled": sync is not None}
    if sync is not None:
        broker.update(connected=sync.link.connected.is_set(), connects=sync.link.connects,
                      disconnects=sync.link.disconnects)  # fmt: skip
    verification = await daemon.verification_health()
    checks = [all(r["state"] == "online" for r in readers.values()), broker.get("connected", True),
              verification.get("ok", True)]  # fmt: skip
    body = {"status": "ok" if all(checks) else "degraded", "readers": readers, "broker": broker,
            "verification": verification, "outbox_depth": daemon.store.outbox_depth()}  # fmt: skip
    return JSONResponse(body, status_code=200)


@router.get("/metrics", summary="Prometheus metrics", response_class=Response)
async def metrics(request: Request) -> Response:
    return Response(request.app.state.daemon.metrics.render(), media_type="text/plain; version=0.0.4")
