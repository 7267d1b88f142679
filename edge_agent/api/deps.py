"""The API's one dependency: the daemon's ``Services``, and the lookups every router shares."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends
from starlette.requests import HTTPConnection

from edge_agent.api.errors import ApiError
from edge_agent.api.views import basket_view
from edge_agent.basket import Basket
from edge_agent.lanes import LaneController
from edge_agent.payment import Checkout
from edge_agent.services import Services


def services(connection: HTTPConnection) -> Services:
    svc: Services = connection.app.state.services
    return svc


Svc = Annotated[Services, Depends(services)]


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


def checkout_of(svc: Services) -> Checkout:
    if svc.checkout is None:
        raise ApiError(503, "no_central", "sync with central is off (mqtt.enabled = false)")
    return svc.checkout


def view(svc: Services, lane: str) -> dict[str, Any]:
    controller = lane_of(svc, lane)
    basket = controller.basket
    payments = svc.store.payments_of(basket.id) if basket is not None else []
    out = basket_view(basket, lane, svc.public_base_url, payments[-1] if payments else None)
    out["paused"] = controller.paused  # why the lane takes no items now (a full disk), or null
    desk = svc.fiscal.desks.get(lane)
    out["register"] = desk.refusal() if desk is not None else None  # why it takes no payment now, or null
    return out
