"""The certified TS PIoT gateway (ТС ПИоТ): codes in Base64 with ``client_info``; the online
service a checkout must use since 2026 (docs/sources.md §2)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from edge_agent import __version__
from edge_agent.codes import Identity
from edge_agent.config_types import Section, Url
from edge_agent.verify.backend import Backend, CheckResult, _group, _json, _mark_codes, _post, _results
from edge_agent.verify.policy import Source

if TYPE_CHECKING:
    from edge_agent.verify.registry import VerifySettings


class TsPiotBackend(Backend):
    source = Source("ts_piot")

    def __init__(self, base_url: str, client_info: dict[str, str], api_version: int = 2, **kw: Any) -> None:
        super().__init__(**kw)
        self.url = f"{base_url.rstrip('/')}/api/v{api_version}/codes/check"
        self.info_url = f"{base_url.rstrip('/')}/api/v{api_version}/info"
        self.client_info = client_info

    async def info(self) -> dict[str, object]:
        """The ТС ПИоТ instance's own state (``GET /api/v{n}/info``: its status and version)."""
        body = _json(await self.client.get(self.info_url))
        return {"status": body.get("status"), "version": body.get("version")} if isinstance(body, dict) else {}

    async def check(self, items: Sequence[Identity]) -> list[CheckResult]:
        _mark_codes(items)
        codes = [{"cis": item.ts_piot_code, **({"pg": g} if (g := _group(item)) else {})} for item in items]
        body = await _post(self.client, self.url, json={"codes": codes, "client_info": self.client_info})
        entries = body.get("codesResponse") if isinstance(body, dict) else None
        return _results(entries, len(items), self.source, False)


class TsPiotKeys(Section):
    """Its keys in ``[verify]``."""

    ts_piot_url: Url = "http://127.0.0.1:18080"


async def build(keys: TsPiotKeys, verify: VerifySettings) -> Backend:
    client_info = {"name": "edge-agent", "version": __version__, "id": verify.client_id, "token": ""}
    return TsPiotBackend(keys.ts_piot_url, client_info)
