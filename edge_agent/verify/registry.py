"""The online check services: one line each, and the verification chain built from ``[verify]``.

A service is a file of its own with its ``Backend``, the keys it adds to ``[verify]`` (a
``Section``) and an async ``build(keys, verify)``; ``ONLINE`` names it. ``[verify] backend``
picks one; the configuration accepts every registered service's keys, so switching is one
line. The Local Module, the offline check, is always the second in the chain
(docs/adr/0006-verification-chain-asks-the-local-module-late.md).

To add a service: ``edge_agent/verify/<service>.py``, its simulator in ``sim/``, and its line in
``ONLINE`` below.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Annotated, Any, Final
from zoneinfo import ZoneInfo

from pydantic import Field, field_validator

from edge_agent.config_types import Section, Url
from edge_agent.verify import true_api, ts_piot
from edge_agent.verify.backend import Backend, VerifyError
from edge_agent.verify.chain import Verifier
from edge_agent.verify.local_module import LocalModuleBackend

log = logging.getLogger("edge_agent.verify")


@dataclass(frozen=True, slots=True)
class OnlineService:
    keys: type[Section]  # the keys it adds to [verify]
    build: Callable[[Any, VerifySettings], Awaitable[Backend]]  # (its keys, the whole section)
    secrets: tuple[str, ...] = ()  # which of its keys are secrets (refused as placeholders in production)


#: [verify] backend -> the service
ONLINE: Final[dict[str, OnlineService]] = {
    "ts_piot": OnlineService(ts_piot.TsPiotKeys, ts_piot.build),
    "true_api": OnlineService(true_api.TrueApiKeys, true_api.build, secrets=("true_api_key",)),
}


class VerifySettings(Section):
    """The keys of ``[verify]`` every chain has; each registered service adds its own."""

    #: the online service (``ONLINE``): the TS PIoT gateway (mandatory for checkouts since 2026) or True API
    backend: str = "ts_piot"
    #: the legal wait for the online answer before the offline check decides
    online_timeout_s: Annotated[float, Field(gt=0, le=1.5)] = 1.5
    local_module_url: Url | None = "http://127.0.0.1:18082"
    local_module_user: str = "admin"
    local_module_password: str = "admin"
    #: the fiscal drive number, sent as X-ClientId to the Local Module
    client_id: Annotated[str, Field(pattern=r"^\d{16}$")] = "9999078900012345"

    @field_validator("backend")
    @classmethod
    def _registered(cls, value: str) -> str:
        if value not in ONLINE:
            raise ValueError(f"unknown check service {value!r} (known: {', '.join(sorted(ONLINE))})")
        return value


def secret_keys() -> dict[str, str]:
    """Each online service's secret key in ``[verify]`` -> the service that needs it."""
    return {key: name for name, service in ONLINE.items() for key in service.secrets}


class ConfiguredVerifier(Verifier):
    """A Verifier that owns its backends' connections."""

    async def aclose(self) -> None:
        for backend in (self.online, self.local):
            if backend is not None:
                await backend.aclose()


async def verifier_from_config(verify: VerifySettings, timezone: str, mode: str = "chain") -> ConfiguredVerifier:
    """``mode``: ``chain`` (the configured online service, then the Local Module), ``local``
    (the Local Module alone), or a service of ``ONLINE`` alone. In the chain, an online service
    that cannot start (True API's CDN unreachable) leaves the Local Module to answer."""
    if mode not in ("chain", "local", *ONLINE):
        raise VerifyError("request_error", f"unknown check mode {mode!r} (chain, local, {', '.join(ONLINE)})")
    online: Backend | None = None
    online_error: str | None = None
    name = verify.backend if mode == "chain" else mode
    service = ONLINE.get(name)
    if service is not None:
        keys = service.keys.model_validate(verify.model_dump(include=set(service.keys.model_fields)))
        try:
            online = await service.build(keys, verify)
        except VerifyError as e:
            if mode != "chain":
                raise
            online_error = f"{name}: {e.message}"
            log.error("the online check service is not in the chain (the Local Module answers): %s", online_error)
    local: Backend | None = None
    if mode in ("chain", "local") and verify.local_module_url:
        local = LocalModuleBackend(
            verify.local_module_url, verify.local_module_user, verify.local_module_password, verify.client_id
        )
    verifier = ConfiguredVerifier(online, local, ZoneInfo(timezone), budget_s=verify.online_timeout_s)
    verifier.online_error = online_error
    return verifier
