"""Building the verification chain from the configuration."""

from __future__ import annotations

from zoneinfo import ZoneInfo

from edge_agent import __version__
from edge_agent.config import Verify
from edge_agent.verify.backends import Backend, LocalModuleBackend, TrueApiBackend, TsPiotBackend, VerifyError
from edge_agent.verify.chain import Verifier


class ConfiguredVerifier(Verifier):
    """A Verifier that owns its backends' connections."""

    async def aclose(self) -> None:
        for backend in (self.online, self.local):
            if backend is not None:
                await backend.aclose()


async def verifier_from_config(config: Verify, timezone: str, mode: str = "chain") -> ConfiguredVerifier:
    """``mode``: ``chain`` (configured online service, then the Local Module), or one of
    ``ts_piot``, ``true_api``, ``local`` alone."""
    online: Backend | None = None
    local: Backend | None = None
    online_kind = config.backend if mode == "chain" else mode
    if online_kind == "ts_piot":
        online = TsPiotBackend(
            config.ts_piot_url, {"name": "edge-agent", "version": __version__, "id": config.client_id, "token": ""}
        )
    elif online_kind == "true_api":
        true_api = TrueApiBackend(config.true_api_cdn_url, config.true_api_key)
        try:
            await true_api.start()
            online = true_api
        except VerifyError:
            await true_api.aclose()
            if mode != "chain":
                raise
    if mode in ("chain", "local") and config.local_module_url:
        local = LocalModuleBackend(
            config.local_module_url, config.local_module_user, config.local_module_password, config.client_id
        )
    return ConfiguredVerifier(online, local, ZoneInfo(timezone), budget_s=config.online_timeout_s)
