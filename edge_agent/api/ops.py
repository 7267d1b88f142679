"""Operations: ``/healthz`` (a bare status for anyone; the details — readers, broker,
verification backends, read queue, outbox — with the ops token) and ``/metrics``
(Prometheus, with the ops token as its bearer token)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response

from edge_agent.api.deps import Ops, Svc, ops_allowed
from edge_agent.api.errors import documented

router = APIRouter(tags=["ops"], responses=documented(401, 429))


@router.get("/healthz", summary="ok or degraded; with the ops token: readers, broker, verification, outbox")
async def healthz(request: Request, svc: Svc) -> dict[str, Any]:
    health = await svc.health.report()
    return health if ops_allowed(request, svc) else {"status": health["status"]}


@router.get("/metrics", summary="Prometheus metrics (ops token)", response_class=Response, dependencies=[Ops])
async def metrics(svc: Svc) -> Response:
    await svc.checks.health()  # the check services' state, asked at most every 10 s (cached)
    return Response(svc.metrics.render(), media_type="text/plain; version=0.0.4")
