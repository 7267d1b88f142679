"""The kiosk's API: the lane's basket, loyalty, checkout, payment, cancel, and a WebSocket
that pushes every basket change. Every route answers only the lane's own kiosk (its device
credential, ``api/deps.py: Kiosk``): another device on the network gets 401, another lane's
kiosk 403. Loyalty look-ups are throttled per lane; points are shown and spent only after the
customer's one-time code (or the app's signed QR); replacing a lane's customer is asked for."""

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
from pydantic import BaseModel, Field, field_validator

from edge_agent.api.deps import Kiosk, Svc, basket_of, checkout_of, device_of, lane_of, view
from edge_agent.api.errors import ApiError, documented, retry_after
from edge_agent.api.views import RECEIPT_QR_BORDER
from edge_agent.basket.commands import CallStaff, Cancel, Checkout
from edge_agent.payment.methods import METHODS

router = APIRouter(prefix="/api/kiosk/{lane}", tags=["kiosk"], responses=documented(401, 403, 404, 409, 429, 503))
log = logging.getLogger("edge_agent.api.kiosk")


class Identify(BaseModel):
    kind: Literal["phone", "card", "qr"]
    ref: str = Field(min_length=1, max_length=128)
    #: the lane already has a customer: the kiosk asked the shopper "replace them?" and they said yes
    replace: bool = False


class OneTimeCode(BaseModel):
    code: str = Field(pattern=r"^\d{4,8}$")


class Redeem(BaseModel):
    points: int | None = Field(default=None, ge=1, description="none: as many as the program allows")


class Part(BaseModel):
    units: int = Field(ge=1, le=10_000, description="how many units of the pack the shopper takes")


class Pay(BaseModel):
    method: str = Field(description="a registered payment method (payment/methods.py): card, sbp")

    @field_validator("method")
    @classmethod
    def _registered(cls, value: str) -> str:
        if value not in METHODS:
            raise ValueError(f"not a payment method here (known: {', '.join(METHODS)})")
        return value


@router.get("/basket", summary="The lane's current basket")
async def get_basket(lane: str, svc: Svc, kiosk: Kiosk) -> dict[str, Any]:
    return view(svc, lane)


@router.post("/identify", summary="Identify the customer for loyalty (phone, card or the app's signed QR)")
async def identify(lane: str, body: Identify, svc: Svc, kiosk: Kiosk) -> dict[str, Any]:
    checkout = checkout_of(svc)
    basket = basket_of(svc, lane)
    if basket.customer is not None and not body.replace:
        raise ApiError(409, "already_identified", "this basket has a customer: confirm on the kiosk to replace them")
    now, limits = time.monotonic(), svc.limits
    if not limits.identify.allow(lane, now):
        wait = limits.identify.retry_after(lane, now)
        raise ApiError(429, "throttled", "too many loyalty look-ups on this lane: wait", retry_after(wait))
    if body.kind == "qr" and not limits.loyalty_qr.claim(body.ref, basket.id, now):
        raise ApiError(409, "qr_used", "this app code was already shown: the app makes a new one")
    if body.kind != "qr":  # central texts a one-time code to the number (on file for a card)
        number = "".join(ch for ch in body.ref if ch.isalnum())
        if not (limits.codes_hour.allow(number, now) and limits.codes_day.allow(number, now)):
            wait = max(limits.codes_hour.retry_after(number, now), limits.codes_day.retry_after(number, now))
            raise ApiError(429, "codes_capped", "too many codes texted to this number: ask staff", retry_after(wait))
    who = await checkout.identify(basket, body.kind, body.ref)
    return {
        "verified": who.verified,
        "balance": who.balance,
        "code_sent": who.code_sent,
        "program": who.program,
        "basket": view(svc, lane),
    }


@router.post("/verify", summary="The one-time code the customer received: shows the balance, lets points be spent")
async def verify(lane: str, body: OneTimeCode, svc: Svc, kiosk: Kiosk) -> dict[str, Any]:
    balance = await checkout_of(svc).verify(basket_of(svc, lane), body.code)
    return {"verified": True, "balance": balance, "basket": view(svc, lane)}


@router.post("/help", summary="The customer calls staff: an intervention in the attendant's queue")
async def call_staff(lane: str, svc: Svc, kiosk: Kiosk) -> dict[str, Any]:
    svc.records.journal.apply(basket_of(svc, lane), CallStaff())
    return view(svc, lane)


@router.post("/lines/{line_id}/part", summary="Take part of a pack sold in parts (tag 1291): the line is repriced")
async def take_part(lane: str, line_id: int, body: Part, *, svc: Svc, kiosk: Kiosk) -> dict[str, Any]:
    lane_of(svc, lane).set_part(line_id, body.units)
    return view(svc, lane)


@router.post("/checkout", summary="The customer is done: check the basket can be paid")
async def checkout_(lane: str, svc: Svc, kiosk: Kiosk) -> dict[str, Any]:
    if lane_of(svc, lane).settling:
        raise ApiError(409, "settling", "the box is still being read: the total is not final yet")
    svc.records.journal.apply(basket_of(svc, lane), Checkout())
    return view(svc, lane)


@router.post("/redeem", summary="Pay part of the basket with points (line discounts)")
async def redeem(lane: str, body: Redeem, svc: Svc, kiosk: Kiosk) -> dict[str, Any]:
    checkout = checkout_of(svc)
    plan = await checkout.redeem(basket_of(svc, lane), body.points)
    return {"points": plan.points, "kopecks": plan.kopecks, "basket": view(svc, lane)}


@router.post("/pay", summary="Start a payment; the outcome arrives on the WebSocket (and GET /basket)")
async def pay(lane: str, body: Pay, svc: Svc, kiosk: Kiosk) -> dict[str, Any]:
    await checkout_of(svc).start_payment(basket_of(svc, lane), body.method)
    return view(svc, lane)


@router.post(
    "/pay/cancel",
    summary="The customer cancels the payment they are making; the basket may then be paid another way",
)
async def cancel_payment(lane: str, svc: Svc, kiosk: Kiosk) -> dict[str, Any]:
    if not checkout_of(svc).cancel_payment(basket_of(svc, lane)):
        raise ApiError(409, "no_payment_waiting", "no payment is waiting for the customer on this lane")
    return view(svc, lane)


@router.post("/cancel", summary="The customer walks away: release loyalty, cancel the basket")
async def cancel(lane: str, svc: Svc, kiosk: Kiosk) -> dict[str, Any]:
    basket = basket_of(svc, lane)
    if svc.checkout is not None:
        await svc.checkout.cancel(basket)
    else:
        svc.records.journal.apply(basket, Cancel())
    return view(svc, lane)


@router.get("/payment/qr.svg", summary="The SBP QR code of the current payment", response_class=Response)
async def qr(lane: str, svc: Svc, kiosk: Kiosk) -> Response:
    payment = view(svc, lane).get("payment") or {}
    if not payment.get("qr"):
        raise ApiError(404, "no_qr", "no SBP payment waiting")
    out = io.BytesIO()
    segno.make(payment["qr"], error="m").save(out, kind="svg", scale=6, border=2)
    return Response(out.getvalue(), media_type="image/svg+xml")


@router.get(
    "/receipt/qr.svg",
    summary="The QR code of the last printed receipt (54-ФЗ: t, s, fn, i, fp, n)",
    response_class=Response,
)
async def receipt_qr(lane: str, svc: Svc, kiosk: Kiosk) -> Response:
    receipt = (view(svc, lane).get("payment") or {}).get("receipt") or {}
    if not receipt.get("qr"):
        raise ApiError(404, "no_receipt", "no receipt printed for this lane's basket")
    out = io.BytesIO()
    segno.make(receipt["qr"], error="m").save(out, kind="svg", scale=4, border=RECEIPT_QR_BORDER)
    return Response(out.getvalue(), media_type="image/svg+xml")


@router.get(
    "/lines/{line_id}/qr.svg",
    summary="A line's product page as a QR code for the shopper's phone (the kiosk never leaves its app)",
    response_class=Response,
)
async def line_qr(lane: str, line_id: int, svc: Svc, kiosk: Kiosk) -> Response:
    line = next((ln for ln in view(svc, lane)["lines"] if ln["id"] == line_id), None)
    if line is None or not line.get("link"):
        raise ApiError(404, "no_line", "no line with a product page on this lane's basket")
    out = io.BytesIO()
    segno.make(line["link"], error="m").save(out, kind="svg", scale=4, border=2)
    return Response(out.getvalue(), media_type="image/svg+xml")


@router.websocket("/ws")
async def ws(websocket: WebSocket, lane: str, svc: Svc) -> None:
    if svc.lanes.get(lane) is None:
        await websocket.close(code=4404)
        return
    device = device_of(websocket, svc)  # the Origin was checked by the guard
    if device is None or not device.is_kiosk_of(lane):
        svc.metrics.refusals.labels("websocket_not_this_kiosk").inc()
        await websocket.close(code=4401)
        return
    await websocket.accept()
    queue = svc.hub.subscribe(lane)

    async def push() -> None:
        await websocket.send_json({"basket": view(svc, lane), "read_at": None, "sent_at": time.time()})
        while True:
            read_at = await queue.get()
            await websocket.send_json({"basket": view(svc, lane), "read_at": read_at, "sent_at": time.time()})

    async def gone() -> None:  # the kiosk sends nothing: a receive ends only when it is gone
        while (await websocket.receive())["type"] != "websocket.disconnect":
            pass

    tasks = {asyncio.create_task(push()), asyncio.create_task(gone())}
    try:  # whichever ends first: a kiosk that went away stops counting at once, not at the next push
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        for task in done:
            with contextlib.suppress(WebSocketDisconnect, RuntimeError):
                task.result()
    finally:
        for task in tasks:
            task.cancel()
        svc.hub.unsubscribe(lane, queue)
        with contextlib.suppress(RuntimeError):
            await websocket.close()
