"""The kiosk's API: the lane's basket, loyalty, checkout, payment, cancel, and a WebSocket
that pushes every basket change."""

from __future__ import annotations

import asyncio
import contextlib
import io
import logging
import time
from typing import Any, Literal

import segno
from fastapi import APIRouter, WebSocket, WebSocketDisconnect
from fastapi.responses import Response
from pydantic import BaseModel, Field

from edge_agent.api.deps import Svc, basket_of, checkout_of, view
from edge_agent.api.errors import ApiError
from edge_agent.basket.commands import Cancel, Checkout
from edge_agent.errors import EdgeError

router = APIRouter(prefix="/api/kiosk/{lane}", tags=["kiosk"])
log = logging.getLogger("edge_agent.api.kiosk")


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


@router.get("/basket", summary="The lane's current basket")
async def get_basket(lane: str, svc: Svc) -> dict[str, Any]:
    return view(svc, lane)


@router.post("/identify", summary="Identify the customer for loyalty (phone, card or app QR)")
async def identify(lane: str, body: Identify, svc: Svc) -> dict[str, Any]:
    checkout = checkout_of(svc)
    result = await checkout.identify(basket_of(svc, lane), body.kind, body.ref)
    return {"balance": result["balance"], "program": result["program"]["name"], "basket": view(svc, lane)}


@router.post("/checkout", summary="The customer is done: check the basket can be paid")
async def checkout_(lane: str, svc: Svc) -> dict[str, Any]:
    svc.store.apply(basket_of(svc, lane), Checkout())
    return view(svc, lane)


@router.post("/redeem", summary="Pay part of the basket with points (line discounts)")
async def redeem(lane: str, body: Redeem, svc: Svc) -> dict[str, Any]:
    checkout = checkout_of(svc)
    plan = await checkout.redeem(basket_of(svc, lane), body.points)
    return {"points": plan.points, "kopecks": plan.kopecks, "basket": view(svc, lane)}


@router.post("/pay", summary="Start a payment; the outcome arrives on the WebSocket (and GET /basket)")
async def pay(lane: str, body: Pay, svc: Svc) -> dict[str, Any]:
    checkout = checkout_of(svc)
    basket = basket_of(svc, lane)
    if basket.state.value != "READY_TO_PAY":
        raise ApiError(409, "wrong_state", f"basket is {basket.state.value}")
    started = time.perf_counter()
    await checkout.register_ready(basket)  # the lane's register can print and has checked every code

    async def run() -> None:
        try:
            outcome = await checkout.pay(basket, body.method, body.instrument)
            svc.metrics.payments.labels(outcome.result).inc()
        except EdgeError as e:
            svc.metrics.payments.labels("error").inc()
            log.warning("lane %s: payment failed to start: %s", lane, e)
        finally:
            svc.metrics.pay.observe(time.perf_counter() - started)
            svc.hub.notify(lane)

    task = svc.spawn(run())
    deadline = time.monotonic() + 5  # answer once the provider has the payment (SBP: its QR)
    while time.monotonic() < deadline and not task.done():
        payments = svc.store.payments_of(basket.id)
        if payments and payments[-1]["step"] != "creating":
            break
        await asyncio.sleep(0.01)
    return view(svc, lane)


@router.post("/cancel", summary="The customer walks away: release loyalty, cancel the basket")
async def cancel(lane: str, svc: Svc) -> dict[str, Any]:
    basket = basket_of(svc, lane)
    if svc.checkout is not None:
        await svc.checkout.cancel(basket)
    else:
        svc.store.apply(basket, Cancel())
    return view(svc, lane)


@router.get("/payment/qr.svg", summary="The SBP QR code of the current payment", response_class=Response)
async def qr(lane: str, svc: Svc) -> Response:
    payment = view(svc, lane).get("payment") or {}
    if not payment.get("qr"):
        raise ApiError(404, "no_qr", "no SBP payment waiting")
    out = io.BytesIO()
    segno.make(payment["qr"], error="m").save(out, kind="svg", scale=6, border=2)
    return Response(out.getvalue(), media_type="image/svg+xml")


@router.get("/receipt/qr.svg", summary="The QR code of the last printed receipt (54-ФЗ: t, s, fn, i, fp, n)",
            response_class=Response)  # fmt: skip
async def receipt_qr(lane: str, svc: Svc) -> Response:
    receipt = (view(svc, lane).get("payment") or {}).get("receipt") or {}
    if not receipt.get("qr"):
        raise ApiError(404, "no_receipt", "no receipt printed for this lane's basket")
    out = io.BytesIO()
    segno.make(receipt["qr"], error="m").save(out, kind="svg", scale=4, border=2)
    return Response(out.getvalue(), media_type="image/svg+xml")


@router.websocket("/ws")
async def ws(websocket: WebSocket, lane: str, svc: Svc) -> None:
    if svc.lanes.get(lane) is None:
        await websocket.close(code=4404)
        return
    await websocket.accept()
    queue = svc.hub.subscribe(lane)
    try:
        await websocket.send_json({"basket": view(svc, lane), "read_at": None, "sent_at": time.time()})
        while True:
            read_at = await queue.get()
            await websocket.send_json({"basket": view(svc, lane), "read_at": read_at, "sent_at": time.time()})
    except (WebSocketDisconnect, RuntimeError):
        pass
    finally:
        svc.hub.unsubscribe(lane, queue)
        with contextlib.suppress(RuntimeError):
            await websocket.close()
