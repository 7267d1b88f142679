"""Operations: ``/healthz`` (readers, broker, verification backends, read queue, outbox depth)
and ``/metrics`` (Prometheus)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter
from fastapi.responses import Response

from edge_agent.api.deps import Svc

router = APIRouter(tags=["ops"])


@router.get("/healthz", summary="Readers, broker, verification backends, read queue, outbox depth")
async def healthz(svc: Svc) -> dict[str, Any]:
    return await svc.health()


@router.get("/metrics", summary="Prometheus metrics", response_class=Response)
async def metrics(svc: Svc) -> Response:
    return Response(svc.metrics.render(), media_type="text/plain; version=0.0.4")
