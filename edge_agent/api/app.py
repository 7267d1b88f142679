"""The FastAPI app (docs/api.md, docs/security.md): one router per audience (kiosk, staff,
public product page, ops), the static pages of ``edge_agent/web``, device enrolment, and the
guard in front of it all (Host, body size, Origin, security headers). The API's description
(``/docs``, ``/openapi.json``) is an operations route: it needs the ops token."""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fastapi import FastAPI, Request
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from edge_agent import __version__
from edge_agent.api.deps import Ops, Svc, device_of
from edge_agent.security.devices import COOKIE, LinkReused
from edge_agent.wire.stream_payloads import IMAGE_NAME

log = logging.getLogger("edge_agent.api")

if TYPE_CHECKING:
    from edge_agent.services import Services

WEB = Path(__file__).resolve().parent.parent / "web"
NOT_ENROLLED = (
    "<!doctype html><meta charset=utf-8><title>Not enrolled</title><link rel=stylesheet "
    "href=/static/app.css><main><h1>Это устройство не зарегистрировано</h1><p>This device is not "
    "enrolled as {what}. Staff: <code>edge-agent device provision {kind} …</code> prints its "
    "enrolment link.</p></main>"
)


def create_app(services_: Services, tls: bool = False) -> Any:
    """The API behind its guard (an ASGI app); ``tls``: served over HTTPS (HSTS, Secure cookies)."""
    from edge_agent.api import errors, kiosk, ops, public, staff
    from edge_agent.api.guard import Guard

    app = FastAPI(
        title="edge-agent",
        version=__version__,
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
        description="Self-checkout edge agent: kiosk, staff, product page, operations.",
    )
    app.state.services = services_
    errors.install(app)
    for module in (kiosk, staff, public, ops):
        app.include_router(module.router)
    app.mount("/static", StaticFiles(directory=WEB), name="static")

    @app.get("/openapi.json", include_in_schema=False, dependencies=[Ops])
    async def openapi() -> JSONResponse:
        return JSONResponse(app.openapi())

    @app.get("/docs", include_in_schema=False, dependencies=[Ops])
    async def docs() -> HTMLResponse:
        return get_swagger_ui_html(openapi_url="/openapi.json", title="edge-agent API")

    @app.get("/", include_in_schema=False)
    async def index() -> FileResponse:
        return FileResponse(WEB / "index.html")

    @app.get("/enrol/{code}", include_in_schema=False)
    async def enrol(code: str, svc: Svc) -> Response:
        """A provisioned device's one-time link: its browser gets the device cookie."""
        try:
            got = svc.devices.enrol(code)
        except LinkReused as e:  # someone opened it before (or after) the device: nobody keeps it
            svc.metrics.refusals.labels("enrol_reused").inc()
            svc.records.audit.record("-", e.device.name, "enrol_link_reused", basket_id=None, detail={})
            svc.records.outbox.announce(
                e.device.lane or "store", "alert.enrolment_reused", {"device": e.device.name, "kind": e.device.kind}
            )
            log.error("%s; provision it again", e)
            return HTMLResponse(NOT_ENROLLED.format(what="anything: the link was already used", kind="kiosk"), 409)
        if got is None:
            svc.metrics.refusals.labels("enrol_code").inc()
            return HTMLResponse(NOT_ENROLLED.format(what="anything: the link is spent or expired", kind="kiosk"), 404)
        device, token = got
        target = f"/kiosk/{device.lane}" if device.kind == "kiosk" else "/staff"
        answer = RedirectResponse(target, 303)
        answer.set_cookie(COOKIE, token, max_age=400 * 86400, httponly=True, secure=tls, samesite="strict")
        svc.records.audit.record("-", device.name, "device_enrolled", basket_id=None, detail={"kind": device.kind})
        return answer

    @app.get("/kiosk/{lane}", include_in_schema=False, response_model=None)
    async def kiosk_page(lane: str, request: Request, svc: Svc) -> Response:
        device = device_of(request, svc)
        if device is None or not device.is_kiosk_of(lane):
            return HTMLResponse(NOT_ENROLLED.format(what=f"lane {lane}'s kiosk", kind=f"kiosk {lane}"), 403)
        return FileResponse(WEB / "kiosk.html")

    @app.get("/kiosk", include_in_schema=False, response_model=None)
    async def own_lane(request: Request, svc: Svc) -> Response:
        device = device_of(request, svc)
        if device is None or device.kind != "kiosk":
            return HTMLResponse(NOT_ENROLLED.format(what="a kiosk", kind="kiosk LANE"), 403)
        return RedirectResponse(f"/kiosk/{device.lane}")

    @app.get("/staff", include_in_schema=False, response_model=None)
    async def staff_page(request: Request, svc: Svc) -> Response:
        device = device_of(request, svc)
        if device is None or device.kind != "handheld":
            return HTMLResponse(NOT_ENROLLED.format(what="a staff handheld", kind="handheld NAME"), 403)
        return FileResponse(WEB / "staff.html")

    @app.get(
        "/images/{name}",
        tags=["pages"],
        summary="A product's picture from the store's images directory (PNG, JPEG, WebP)",
        response_class=FileResponse,
    )
    async def image(name: str) -> FileResponse:
        folder = services_.config.kiosk.images_dir
        # the catalogue's names are checked on the way in; checked again here: a plain name of a
        # raster picture, so no path ever leaves the folder and no SVG (script) is served
        if folder is None or not re.fullmatch(IMAGE_NAME, name) or not (folder / name).is_file():
            raise errors.ApiError(404, "no_image", "no such picture")
        return FileResponse(folder / name, headers={"cache-control": "public, max-age=86400"})

    @app.get("/api/kiosks", tags=["pages"], summary="Each lane's kiosk page, for the index page (names only)")
    async def kiosks() -> dict[str, list[dict[str, str]]]:
        # public: a lane's name and page say nothing a shopper cannot read on the screen; the
        # page itself still needs the lane's enrolled kiosk
        return {"kiosks": [{"lane": lane, "page": f"/kiosk/{lane}"} for lane in services_.lanes]}

    @app.get("/api/lanes", tags=["ops"], summary="The lanes of this store", dependencies=[Ops])
    async def lanes() -> dict[str, list[str]]:
        return {"lanes": list(services_.lanes)}

    return Guard(app, services_.config.http, tls, on_refused=lambda code: services_.metrics.refusals.labels(code).inc())
