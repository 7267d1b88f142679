"""Every error family to HTTP, in one place (docs/adr/0014-one-error-base.md).

Routes raise what the core raises (``BasketError``, ``ServiceError``, ``ParseError``, …) or an
``ApiError`` for what only the API knows (no such lane, sign in first); the handler answers
``{"detail": {"code", "message"[, "position"]}}`` with the status this table gives.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from edge_agent.basket import BasketError
from edge_agent.codes import CodeError
from edge_agent.db import StoreError
from edge_agent.errors import EdgeError
from edge_agent.fiscal.register import RegisterError
from edge_agent.payment.return_plan import ReturnError
from edge_agent.sync.rpc import OutcomeUnknown, ServiceError
from edge_agent.verify.backend import VerifyError


class ApiError(EdgeError):
    """A refusal only the API knows: its status (and headers) travel with it."""

    def __init__(self, status: int, code: str, message: str, headers: Mapping[str, str] | None = None) -> None:
        super().__init__(code, message)
        self.status = status
        self.headers = dict(headers or {})


#: family -> status; the first family an error belongs to wins
STATUS: Final[tuple[tuple[type[EdgeError], int], ...]] = (
    (BasketError, 409),  # the basket's state does not allow it
    (ServiceError, 422),  # central refused
    (OutcomeUnknown, 503),  # central did not answer
    (VerifyError, 503),
    (StoreError, 503),  # the store cannot write (a full disk): nothing was recorded
    (CodeError, 422),  # not a code
    (ReturnError, 409),  # not a return this sale allows
    (RegisterError, 503),  # the fiscal register did not do it
)
#: codes whose status differs from their family's
BY_CODE: Final[dict[str, int]] = {
    "unknown_customer": 404,
    "no_sale": 404,
    "not_sold_here": 404,
    "register_unavailable": 503,
    "no_line": 404,
    "bad_part": 422,  # a part of a pack no sale can have (0 < n < d)
    "not_a_pack": 422,
}


class ErrorDetail(BaseModel):
    code: str
    message: str


class ErrorBody(BaseModel):
    """Every refusal's body: a stable code to act on and a message for people."""

    detail: ErrorDetail


_MEANINGS: Final = {
    401: "who is asking is not known: the device is not enrolled, or the staff member not signed in",
    403: "known, but not allowed this: another lane's kiosk, a kiosk on a staff route, a locked account",
    404: "no such lane, basket, problem, payment or sale",
    409: "not now: the basket's or the lane's state does not allow it (the code says which)",
    429: "too many requests from this caller for now: Retry-After says when to try again",
    503: "a service this needs is not there now (central, the register, the store's disk)",
}


def documented(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI ``responses`` for the refusals a router's routes answer, with their body."""
    return {status: {"model": ErrorBody, "description": _MEANINGS[status]} for status in statuses}


def retry_after(seconds: float) -> dict[str, str]:
    """The ``Retry-After`` header of a refusal that lifts in ``seconds`` (whole seconds, rounded up)."""
    return {"Retry-After": str(int(seconds) + 1)}


def status_of(error: EdgeError) -> int:
    if isinstance(error, ApiError):
        return error.status
    if error.code in BY_CODE:
        return BY_CODE[error.code]
    return next((status for family, status in STATUS if isinstance(error, family)), 500)


def body_of(error: EdgeError) -> dict[str, object]:
    return {"detail": error.to_dict()}


#: answers that refuse a caller (who it is, what it may do, how often): each is counted by its
#: code in ``edge_agent_security_refusals_total`` (docs/security.md)
REFUSALS: Final = frozenset({401, 403, 429})


async def _handle(request: Request, error: Exception) -> JSONResponse:
    assert isinstance(error, EdgeError)
    headers = error.headers if isinstance(error, ApiError) else None
    status = status_of(error)
    services = getattr(request.app.state, "services", None)
    if status in REFUSALS and services is not None:
        services.metrics.refusals.labels(error.code).inc()
    return JSONResponse(body_of(error), status, headers)


async def _invalid(request: Request, error: Exception) -> JSONResponse:
    """A body or parameter of the wrong shape: 422 with where and why, never the input itself
    (it may be anything: ``NaN`` and ``1e999999`` are not JSON an answer can carry)."""
    assert isinstance(error, RequestValidationError)
    errors = [
        {"loc": list(e.get("loc", ())), "msg": str(e.get("msg", "")), "type": str(e.get("type", ""))}
        for e in error.errors()
    ]
    return JSONResponse({"detail": errors}, 422)


def install(app: FastAPI) -> None:
    app.add_exception_handler(EdgeError, _handle)
    app.add_exception_handler(RequestValidationError, _invalid)
