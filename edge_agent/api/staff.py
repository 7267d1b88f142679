"""The staff handheld's API: sign in by PIN or by tapping a staff badge on any reader (→ a
short-lived bearer token), lanes overview with reader health, approve problems, void lines,
look up any code. Every action is written to the audit table."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from pydantic import BaseModel, Field

from edge_agent.api.auth import Session
from edge_agent.api.kiosk import lane_of, refused, view
from edge_agent.basket import BasketError
from edge_agent.codes import ParseError, parse

router = APIRouter(prefix="/api/staff", tags=["staff"])
bearer = HTTPBearer(auto_error=False)


class PinLogin(BaseModel):
    staff_id: str = Field(min_length=1, max_length=64)
    pin: str = Field(min_length=4, max_length=32)
    device: str = Field(default="handheld", max_length=64)


def _daemon(request: Request) -> Any:
    return request.app.state.daemon


def staff_session(request: Request,
                  credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]) -> Session:  # fmt: skip
    if credentials is None:
        raise HTTPException(401, {"code": "no_token", "message": "sign in first"}, {"WWW-Authenticate": "Bearer"})
    session: Session | None = _daemon(request).tokens.check(credentials.credentials)
    if session is None:
        raise HTTPException(401, {"code": "bad_token", "message": "the token is unknown or expired"},
                            {"WWW-Authenticate": "Bearer"})  # fmt: skip
    return session


Staff = Annotated[Session, Depends(staff_session)]


@router.post("/token", summary="Sign in with a staff id and PIN")
async def token(body: PinLogin, request: Request) -> dict[str, Any]:
    daemon = _daemon(request)
    issued = daemon.tokens.by_pin(body.staff_id, body.pin, body.device)
    if issued is None:
        daemon.store.audit(body.staff_id, body.device, "sign_in_refused", None, {})
        raise HTTPException(401, {"code": "bad_credentials", "message": "unknown staff id or wrong PIN"})
    daemon.store.audit(body.staff_id, body.device, "sign_in", None, {"method": "pin"})
    return {"token": issued, "expires_in": int(daemon.tokens.ttl_s)}


@router.post("/badge", summary="Start a badge sign-in: then tap a staff badge on any reader")
async def badge_start(request: Request) -> dict[str, Any]:
    return {"challenge": _daemon(request).tokens.challenge(), "expires_in": 60}


@router.get("/badge/{challenge}", summary="The token, once a staff badge was tapped")
async def badge_poll(challenge: str, request: Request) -> dict[str, Any]:
    daemon = _daemon(request)
    issued = daemon.tokens.redeem(challenge)
    if issued is None:
        raise HTTPException(404, {"code": "waiting", "message": "no badge tapped yet (or the challenge expired)"})
    session = daemon.tokens.check(issued)
    if session is not None:
        daemon.store.audit(session.staff.id, session.device, "sign_in", None, {"method": "badge"})
    return {"token": issued, "expires_in": int(daemon.tokens.ttl_s)}


@router.get("/lanes", summary="Every lane: basket state, open problems, reader health")
async def lanes(request: Request, staff: Staff) -> dict[str, Any]:
    daemon = _daemon(request)
    health = daemon.readers_health()
    out = []
    for lane_id, controller in daemon.lanes.items():
        readers = sorted({z.reader for z in controller.settings.zones})
        out.append({"lane": lane_id, "mode": controller.settings.mode, "basket": view(daemon, lane_id),
                    "readers": {r: health.get(r) for r in readers}})  # fmt: skip
    return {"staff": staff.staff.name, "lanes": out}


def _staff_command(request: Request, lane: str, staff: Session, op: str, key: str, target: int,
                   action: str) -> dict[str, Any]:  # fmt: skip
    """One staff command on a lane's basket: journaled, audited, pushed to the screens."""
    daemon = _daemon(request)
    controller = lane_of(daemon, lane)
    if controller.basket is None:
        raise HTTPException(404, {"code": "no_basket", "message": "no basket on this lane"})
    args = {key: target, "by": staff.staff.id, "device": staff.device, "at": datetime.now(UTC).isoformat()}
    try:
        daemon.store.apply(controller.basket, op, args, controller.topic)
    except BasketError as e:
        raise refused(e) from None
    if op == "remove":
        controller.forget(target)
    daemon.store.audit(staff.staff.id, staff.device, action, controller.basket.id, {key: target})
    daemon.hub.notify(lane)
    return view(daemon, lane)


@router.post("/lanes/{lane}/problems/{problem_id}/approve", summary="Approve a MEDIUM problem (age seen, quantity)")
async def approve(lane: str, problem_id: int, request: Request, staff: Staff) -> dict[str, Any]:
    return _staff_command(request, lane, staff, "resolve", "problem_id", problem_id, "approve_problem")


@router.post("/lanes/{lane}/lines/{line_id}/void", summary="Remove a line (and its problems)")
async def void(lane: str, line_id: int, request: Request, staff: Staff) -> dict[str, Any]:
    return _staff_command(request, lane, staff, "remove", "line_id", line_id, "void_line")


@router.get("/codes/{code:path}", summary="Any code's status: identity, sold here, verdict history")
async def code_status(code: str, request: Request, staff: Staff, check: bool = False) -> dict[str, Any]:
    daemon = _daemon(request)
    try:
        identity = parse(code)
    except ParseError as e:
        raise HTTPException(422, {"code": e.code, "message": e.message, "position": e.position}) from None
    store = daemon.store
    history = [{"basket": b, "outcome": o, "source": s, "req_id": r, "req_timestamp": t}
               for b, o, s, r, t in store.db.conn.execute(
                   "SELECT basket_id, outcome, source, req_id, req_timestamp FROM verdicts WHERE ki = ? "
                   "ORDER BY rowid", (identity.ki,))]  # fmt: skip
    out: dict[str, Any] = {"ki": identity.ki, "gtin": identity.gtin, "serial": identity.serial,
                           "product": None, "sold_here": store.sold_here(identity.ki),
                           "received_code": store.mark_code_for(identity.ki) is not None,
                           "verdicts": history}  # fmt: skip
    product = store.product(identity.gtin)
    if product is not None:
        out["product"] = {"name": product.name, "price": product.price, "marked": product.marked}
    if check:
        out["check"] = await daemon.check_code(identity)
    daemon.store.audit(staff.staff.id, staff.device, "code_status", None, {"ki": identity.ki, "check": check})
    return out
