"""The store's Local Module (ЛМ ЧЗ): the offline check, by КИ only, with Basic auth and
``X-ClientId`` (docs/sources.md §2)."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Sequence
from typing import Any

import httpx

from edge_agent.codes import Identity
from edge_agent.verify.backend import SYNC_ALARM_S, Backend, CheckResult, VerifyError, _group, _json, _results
from edge_agent.verify.policy import Source


class LocalModuleBackend(Backend):
    source = Source("local_module")

    def __init__(self, base_url: str, user: str, password: str, client_id: str, **kw: Any) -> None:
        super().__init__(**kw)
        self.base = base_url.rstrip("/")
        self.auth = httpx.BasicAuth(user, password)
        self.client_id = client_id

    async def status(self) -> dict[str, Any]:
        """The Local Module's status, with ``sync_age_s`` and ``sync_alarm`` (48 h of the 72 h)."""
        try:
            response = await self.client.get(f"{self.base}/api/v1/status", auth=self.auth)
        except httpx.HTTPError as e:
            raise VerifyError("connection", f"Local Module status: {type(e).__name__}") from None
        body: dict[str, Any] = _json(response)
        last_sync = body.get("lastSync")
        age = time.time() - last_sync / 1000 if isinstance(last_sync, int | float) else None
        body["sync_age_s"] = age
        body["sync_alarm"] = age is not None and age > SYNC_ALARM_S
        return body

    async def check(self, items: Sequence[Identity]) -> list[CheckResult]:
        cis_list = [{"cis": item.local_module_code, **({"pg": g} if (g := _group(item)) else {})} for item in items]
        try:
            response = await self.client.post(
                f"{self.base}/api/v2/cis/outCheck",
                json={"cis_list": cis_list},
                auth=self.auth,
                headers={"X-ClientId": self.client_id},
            )
        except httpx.TimeoutException:
            raise VerifyError("timeout", "Local Module: no answer in time") from None
        except httpx.TransportError as e:
            raise VerifyError("connection", f"Local Module: {type(e).__name__}") from None
        if response.status_code == 400:
            with contextlib.suppress(ValueError):
                error = response.json().get("errorCode")
                if error == 4050:
                    raise VerifyError("out_of_sync", "Local Module in sync_error: more than 72 h since its last sync")
                if error == 4045:
                    raise VerifyError("not_ready", "Local Module is not configured or still initialising")
        body = _json(response)
        return _results(body.get("results") if isinstance(body, dict) else None, len(items), self.source, True)
