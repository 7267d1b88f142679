"""The kiosk's API: the lane's basket, loyalty, checkout, payment, cancel, and a WebSocket
that pushes every basket change."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Iterator
from typing import Any, Literal

from fastapi import APIRouter, HTTPException, Request, WebSocket, WebSocketDisconnect
from fastapi.responses import Response
from pydantic import BaseModel, Field

from edge_agent.api.views import basket_view
from edge_agent.basket import BasketError
from edge_agent.sync.rpc import OutcomeUnknown, ServiceError

router = APIRouter(prefix="/api/kiosk/{lane}", tags=["kiosk"])


class Identify(BaseModel):
    kind: Literal["phone", "card", "qr"]
    ref: str = Field(min_length=1, max_length=64)


class Redeem(BaseModel):
    points: int | None = Field(default=None, ge=1, description="none: as many as the program allows")


class Pay(BaseModel):
    method: Literal["card", "sbp"]
    #: the simulated customer's behaviour at the payment service (demo and tests): ok,
    #: decline:<reason>, timeout, late:<seconds>; a real terminal ignores it
    instrument: str = Field(default="ok", max_length=40, pattern=r"^[a-z_]+(:[a-z0-9_.]+)?$")


def _daemon(request: Request | WebSocket) -> Any:
    return request.app.state.daemon


def lane_of(daemon: Any, lane: str) -> Any:
    controller = daemon.lanes.get(lane)
    if controller is None:
        raise HTTPException(404, {"code": "no_lane", "message": f"no lane {lane!r}"})
    return controller


def view(daemon: Any, lane: str) -> dict[str, Any]:
    controller = lane_of(daemon, lane)
    basket = controller.basket
    payments = daemon.store.payments_of(basket.id) if basket is not None else []
    return basket_view(basket, lane, daemon.config.http.public_base_url, payments[-1] if payments else None)


def _basket(daemon: Any, lane: str) -> Any:
    controller = lane_of(daemon, lane)
    if controller.basket is None:
        raise HTTPException(409, {"code": "empty", "message": "there is no basket on this lane yet"})
    return controller


def _needs_sync(daemon: Any) -> Any:
    if daemon.checkout is None:
        raise HTTPException(503, {"code": "no_central", "message": "sync with central is off (mqtt.enabled = false)"})
    return daemon.checkout


def refused(e: BasketError) -> HTTPException:
    return HTTPException(409, {"code": e.code, "message": e.message})


@contextlib.contextmanager
def answered() -> Iterator[None]:
    """The HTTP answer for what the basket or central said no to (or did not answer)."""
    try:
        yield
    except BasketError as e:
        raise refused(e) from None
    except ServiceError as e:
        status = 404 if e.code == "unknown_customer" else 422
        raise HTTPException(status, {"code": e.code, "message": e.message}) from None
    except OutcomeUnknown:
        raise HTTPException(503, {"code": "central_unavailable", "message": "central did not answer"}) from None


@router.get("/basket", summary="The lane's current basket")
async def get_basket(lane: str, request: Request) -> dict[str, Any]:
    return view(_daemon(request), lane)


@router.post("/identify", summary="Identify the customer for loyalty (phone, card or app QR)")
async def identify(lane: str, body: Identify, request: Request) -> dict[str, Any]:
    daemon = _daemon(request)
    checkout = _needs_sync(daemon)
    controller = _basket(daemon, lane)
    with answered():
        result = await checkout.identify(controller.basket, controller.topic, body.kind, body.ref)
    return {"balance": result["balance"], "program": result["program"]["name"], "basket": view(daemon, lane)}


@router.post("/checkout", summary="The customer is done: check the basket can be paid")
async def checkout_(lane: str, request: Request) -> dict[str, Any]:
    daemon = _daemon(request)
    controller = _basket(daemon, lane)
    with answered():
        daemon.store.apply(controller.basket, "checkout", {}, controller.topic)
    return view(daemon, lane)


@router.post("/redeem", summary="Pay part of the basket with points (line discounts)")
async def redeem(lane: str, body: Redeem, request: Request) -> dict[str, Any]:
    daemon = _daemon(request)
    checkout = _needs_sync(daemon)
    controller = _basket(daemon, lane)
    with answered():
        plan = await checkout.redeem(controller.basket, controller.topic, body.points)
    return {"points": plan.points, "kopecks": plan.kopecks, "basket": view(daemon, lane)}


@router.post("/pay", summary="Start a payment; the outcome arrives on the WebSocket (and GET /basket)")
async def pay(lane: str, body: Pay, request: Request) -> dict[str, Any]:
    daemon = _daemon(request)
    checkout = _needs_sync(daemon)
    controller = _basket(daemon, lane)
    basket = controller.basket
    if basket.state.value != "READY_TO_PAY":
        raise HTTPException(409, {"code": "wrong_state", "message": f"basket is {basket.state.value}"})
    started = time.perf_counter()

    async def run() -> None:
        try:
            outcome = await checkout.pay(basket, controller.topic, body.method, body.instrument)
            daemon.metrics.payments.labels(outcome.result).inc()
        except (BasketError, ServiceError, OutcomeUnknown) as e:
            daemon.metrics.payments.labels("error").inc()
            daemon.log.warning("lane %s: payment failed to start: %s", lane, e)
        finally:
            daemon.metrics.pay.observe(time.perf_counter() - started)
            daemon.hub.notify(lane)

    daemon.spawn(run())
    deadline = time.monotonic() + 5  # answer once the provider has the payment (SBP: its QR)
    while time.monotonic() < deadline:
        payments = daemon.store.payments_of(basket.id)
        if payments and payments[-1]["step"] != "creating":
            break
        await asyncio.sleep(0.01)
    return view(daemon, lane)


@router.post("/cancel", summary="The customer walks away: release loyalty, cancel the basket")
async def cancel(lane: str, request: Request) -> dict[str, Any]:
    daemon = _daemon(request)
    controller = _basket(daemon, lane)
    with answered():
        if daemon.checkout is not None:
            await daemon.checkout.cancel(controller.basket, controller.topic)
        else:
            daemon.store.apply(controller.basket, "cancel", {}, controller.topic)
    return view(daemon, lane)


@router.get("/payment/qr.svg", summary="The SBP QR code of the current payment", response_class=Response)
async def qr(lane: str, request: Request) -> Response:
    import io

    import segno

    payment = view(_daemon(request), lane).get("payment") or {}
    if not payment.get("qr"):
        raise HTTPException(404, {"code": "no_qr", "message": "no SBP payment waiting"})
    out = io.BytesIO()
    segno.make(payment["qr"], error="m").save(out, kind="svg", scale=6, border=2)
    return Response(out.getvalue(), media_type="image/svg+xml")


@router.websocket("/ws")
async def ws(websocket: WebSocket, lane: str) -> None:
    daemon = _daemon(websocket)
    if lane not in daemon.lanes:
        await websocket.close(code=4404)
        return
    await websocket.accept()
    queue = daemon.hub.subscribe(lane)
    try:
        await websocket.send_json({"basket": view(daemon, lane), "read_at": None, "sent_at": time.time()})
        while True:
            read_at = await queue.get()
            await websocket.send_json({"basket": view(daemon, lane), "read_at": read_at, "sent_at": time.time()})
    except (WebSocketDisconnect, RuntimeError):
        pass
    finally:
        daemon.hub.unsubscribe(lane, queue)
        with contextlib.suppress(RuntimeError):
            await websocket.close()
