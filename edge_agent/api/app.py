"""The FastAPI app (docs/api.md): one router per audience (kiosk, staff, public
product page, ops), the static pages of ``edge_agent/web``, OpenAPI at ``/openapi.json``."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from fastapi import FastAPI
from fastapi.responses import FileResponse, RedirectResponse
from fastapi.staticfiles import StaticFiles

from edge_agent import __version__

if TYPE_CHECKING:
    from edge_agent.services import Services

WEB = Path(__file__).resolve().parent.parent / "web"


def create_app(services: Services) -> FastAPI:
    from edge_agent.api import errors, kiosk, ops, public, staff

    app = FastAPI(title="edge-agent", version=__version__,
                  description="Self-checkout edge agent: kiosk, staff, product page, operations.")  # fmt: skip
    app.state.services = services
    errors.install(app)
    for module in (kiosk, staff, public, ops):
        app.include_router(module.router)
    app.mount("/static", StaticFiles(directory=WEB), name="static")

    @app.get("/", include_in_schema=False)
    async def index() -> FileResponse:
        return FileResponse(WEB / "index.html")

    @app.get("/kiosk/{lane}", include_in_schema=False)
    async def kiosk_page(lane: str) -> FileResponse:
        return FileResponse(WEB / "kiosk.html")

    @app.get("/staff", include_in_schema=False)
    async def staff_page() -> FileResponse:
        return FileResponse(WEB / "staff.html")

    @app.get("/api/lanes", tags=["kiosk"], summary="The lanes of this store")
    async def lanes() -> dict[str, list[str]]:
        return {"lanes": list(services.lanes)}

    @app.get("/kiosk", include_in_schema=False)
    async def first_lane() -> RedirectResponse:
        return RedirectResponse(f"/kiosk/{next(iter(services.lanes), 'lane-1')}")

    return app
