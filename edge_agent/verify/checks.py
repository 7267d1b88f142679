"""Checks that are not sales: a staff member's lookup, a phone's authenticity view (remembered
for a minute per item), and the check services' health for ``/healthz``. None of them is
stored as a sale verdict."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Final

from edge_agent.codes import Identity, parse
from edge_agent.verify.chain import Verifier
from edge_agent.verify.local_module import LocalModuleBackend
from edge_agent.verify.ts_piot import TsPiotBackend

AUTHENTICITY_MAX_AGE_S: Final = 60.0
HEALTH_EVERY_S: Final = 10.0
CACHE_ITEMS: Final = 50_000


class CodeChecks:
    def __init__(self, verifier: Verifier | None, mark_code_for: Callable[[str], str | None]) -> None:
        self.verifier = verifier
        self.mark_code_for = mark_code_for  # КИ -> the full КМ from the received codes
        self._seen: dict[str, tuple[float, dict[str, object]]] = {}
        self._health: tuple[float, dict[str, object]] = (0.0, {})

    async def check(self, identity: Identity) -> dict[str, object]:
        """A live check of one code (staff lookup, product page)."""
        if self.verifier is None:
            return {"outcome": "UNAVAILABLE", "reasons": [{"code": "no_verifier", "message": "no check service"}]}
        if identity.mark_code is None:
            full = self.mark_code_for(identity.ki)
            if full is not None:
                identity = parse(full)
        verdict = (await self.verifier.verify([identity]))[0]
        out = verdict.to_dict()
        out["checked_at"] = datetime.now(UTC).isoformat(timespec="seconds")
        return out

    def remembered(self, identity: Identity, max_age_s: float = AUTHENTICITY_MAX_AGE_S) -> dict[str, object] | None:
        """The phone's verdict for this item if one was checked less than ``max_age_s`` ago."""
        cached = self._seen.get(identity.ki)
        if cached is not None and time.monotonic() - cached[0] < max_age_s:
            return cached[1]
        return None

    async def authenticity(self, identity: Identity, max_age_s: float = AUTHENTICITY_MAX_AGE_S) -> dict[str, object]:
        """The verdict a phone sees: a live check, remembered for ``max_age_s`` per item."""
        cached = self.remembered(identity, max_age_s)
        if cached is not None:
            return cached
        result = await self.check(identity)
        view = {k: result.get(k) for k in ("outcome", "source", "offline", "checked_at")}
        view["reasons"] = result.get("reasons", [])
        if len(self._seen) > CACHE_ITEMS:
            self._seen.clear()
        self._seen[identity.ki] = (time.monotonic(), view)
        return view

    def last_health(self) -> dict[str, object]:
        """What ``health()`` last found (the retained status carries it), without asking again."""
        return dict(self._health[1] or {})

    async def health(self) -> dict[str, object]:
        """The check services as /healthz shows them (the Local Module's status, with its 48 h
        sync alarm), asked at most every ``HEALTH_EVERY_S``."""
        at, cached = self._health
        if time.monotonic() - at < HEALTH_EVERY_S and cached:
            return cached
        out: dict[str, object] = {"ok": self.verifier is not None, "online": None, "local_module": None}
        if self.verifier is not None:
            online = self.verifier.online
            out["online"] = type(online).__name__ if online is not None else None
            if self.verifier.online_error:
                out["online_error"] = self.verifier.online_error  # e.g. True API direct after its sunset
            if isinstance(online, TsPiotBackend):
                try:
                    out["ts_piot"] = await asyncio.wait_for(online.info(), 1.0)
                except Exception as e:  # unreachable or odd: said, not raised
                    out["ts_piot"] = {"status": "unreachable", "error": type(e).__name__}
            local = self.verifier.local
            if isinstance(local, LocalModuleBackend):
                try:
                    lm = await asyncio.wait_for(local.status(), 1.0)
                    out["local_module"] = {
                        "status": lm.get("status"),
                        "sync_age_s": lm.get("sync_age_s"),
                        "sync_alarm": lm.get("sync_alarm"),
                    }
                    out["ok"] = lm.get("status") == "ready" and not lm.get("sync_alarm")
                except Exception as e:  # whatever went wrong, health says so instead of failing
                    out["local_module"] = {"status": "unreachable", "error": type(e).__name__}
                    out["ok"] = False
            if self.verifier.online_error:  # selling on the Local Module alone: the configuration needs a hand
                out["ok"] = False
        self._health = (time.monotonic(), out)
        return out
