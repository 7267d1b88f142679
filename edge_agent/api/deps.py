"""The API's one dependency: the daemon's ``Services``, the callers it names (a kiosk of one
lane, a staff handheld, the operations token), and the lookups every router shares."""

from __future__ import annotations

import secrets
import time
from typing import Annotated, Any

from fastapi import Depends
from starlette.requests import HTTPConnection

from edge_agent.api.errors import ApiError
from edge_agent.api.views import basket_view
from edge_agent.basket import Basket, State
from edge_agent.lanes import LaneController
from edge_agent.payment.flow import CheckoutFlow
from edge_agent.payment.methods import METHODS
from edge_agent.security.devices import COOKIE, HEADER, Device
from edge_agent.services import Services


def services(connection: HTTPConnection) -> Services:
    svc: Services = connection.app.state.services
    return svc


Svc = Annotated[Services, Depends(services)]


def device_of(connection: HTTPConnection, svc: Services) -> Device | None:
    """The device credential the caller presents: the header (programs) or the cookie (browsers)."""
    token = connection.headers.get(HEADER) or connection.cookies.get(COOKIE)
    device = svc.devices.by_token(token)
    if device is not None and connection.client is not None:  # its address may use the reserved share
        svc.limits.connections.saw_device(connection.client.host, time.monotonic())
    return device


def kiosk_device(connection: HTTPConnection, lane: str, svc: Svc) -> Device:
    """Only the kiosk of ``lane``: an address, another lane's kiosk or a handheld is not it."""
    device = device_of(connection, svc)
    if device is None:
        raise ApiError(401, "no_device", "this device is not enrolled (edge-agent device provision)")
    if not device.is_kiosk_of(lane):
        raise ApiError(403, "not_this_lane", f"device {device.name} is not lane {lane}'s kiosk")
    return device


def handheld_device(connection: HTTPConnection, svc: Svc) -> Device:
    device = device_of(connection, svc)
    if device is None:
        raise ApiError(401, "no_device", "this device is not enrolled (edge-agent device provision)")
    if device.kind != "handheld":
        raise ApiError(403, "not_a_handheld", f"device {device.name} is a {device.kind}, not a staff handheld")
    return device


def ops_caller(connection: HTTPConnection, svc: Svc) -> None:
    if not ops_allowed(connection, svc):
        raise ApiError(401, "no_ops_token", "operations routes need the ops token", {"WWW-Authenticate": "Bearer"})


def ops_allowed(connection: HTTPConnection, svc: Services) -> bool:
    expected = svc.config.http.ops_token
    given = connection.headers.get("authorization", "")
    return bool(expected) and secrets.compare_digest(given.encode(), f"Bearer {expected}".encode())


Kiosk = Annotated[Device, Depends(kiosk_device)]
Handheld = Annotated[Device, Depends(handheld_device)]
Ops = Depends(ops_caller)


def lane_of(svc: Services, lane: str) -> LaneController:
    controller = svc.lanes.get(lane)
    if controller is None:
        raise ApiError(404, "no_lane", f"no lane {lane!r}")
    return controller


def basket_of(svc: Services, lane: str, missing: int = 409) -> Basket:
    """The lane's live basket (409 ``empty`` for the kiosk, 404 ``no_basket`` for staff)."""
    basket = lane_of(svc, lane).basket
    if basket is None:
        if missing == 404:
            raise ApiError(404, "no_basket", "no basket on this lane")
        raise ApiError(409, "empty", "there is no basket on this lane yet")
    return basket


def checkout_of(svc: Services) -> CheckoutFlow:
    if svc.checkout is None:
        raise ApiError(503, "no_central", "sync with central is off (mqtt.enabled = false)")
    return svc.checkout


def view(svc: Services, lane: str) -> dict[str, Any]:
    controller = lane_of(svc, lane)
    basket = controller.basket
    payments = svc.records.payments.of_basket(basket.id) if basket is not None else []
    out = basket_view(basket, lane, svc.public_base_url, payments[-1] if payments else None)
    out["paused"] = controller.paused  # why the lane takes no items now (a full disk), or null
    out["settling"] = controller.settling  # the box is still being read: no total yet
    out["age_documents"] = controller.age is not None  # the kiosk offers the digital ID for 18+ items
    out["notice"] = controller.notice  # what became of the last document scanned (a bad stamp), or null
    desk = svc.fiscal.desks.get(lane)
    out["register"] = desk.refusal() if desk is not None else None  # why it takes no payment now, or null
    out["faults"] = svc.faults.of(lane) if svc.faults is not None else []  # lane_faults.py's codes
    #: a cancelled purchase's items still in the box: the kiosk asks for them to be taken out
    cancelled = basket is not None and basket.state is State.CANCELLED and controller.settings.mode == "box"
    out["left_in_box"] = len(controller.lines) if cancelled else 0
    if svc.config.kiosk.images_dir is None:  # no pictures in this store: pictograms
        for line in out["lines"]:
            line["image"] = None
    out["timezone"] = svc.config.store.timezone  # the kiosk shows times in the store's zone
    out["kiosk"] = svc.config.kiosk.model_dump(mode="json", exclude={"images_dir"})  # its idle and receipt timers
    out["methods"] = [m.to_dict() for m in METHODS.values()]  # a button each (payment/methods.py)
    payment = out.get("payment")
    if payment and payment.get("started"):  # until when the kiosk waits for the customer (the SBP countdown)
        payment["pay_by"] = payment["started"] + svc.config.checkout.customer_timeout_s
    return out
