"""The digital ID in MAX (ПП №148 of 17 Feb 2026: an age document sellers accept from 1 Sep
2026; law-2026.md §5). The QR is checked in two steps: its signature here, against the issuer
keys pinned in ``[age]`` (a forged code is refused with no network), then redeemed once at the
issuer, which judges its 30 s validity on its own clock and refuses it the second time, on any
lane of any store. An issuer that does not answer within ``timeout_s`` leaves the check to staff.

The wire (the simulator's, ``sim/max_id.py``): ``POST {max_url}/v1/age/redeem {"token": text}``
→ 200 ``{"status": "valid", "age_over": 18}``, or 4xx ``{"error": "expired"|"replayed"|"forged"|
"unreadable"}``.
"""

from __future__ import annotations

import logging
from typing import Annotated

import httpx
from pydantic import Field, field_validator

from edge_agent.age import token
from edge_agent.age.backend import AgeBackend, AgeDecision
from edge_agent.config_types import Section, Url
from edge_agent.logthrottle import ThrottledLog

log = logging.getLogger("edge_agent.age")
REFUSALS = frozenset({"expired", "replayed", "forged", "unreadable"})


class MaxIdKeys(Section):
    """Its keys in ``[age]``."""

    max_url: Url = "http://127.0.0.1:18090"
    #: the issuer's Ed25519 public keys by key id (base64url of the 32 raw bytes); empty: the
    #: issuer alone judges signatures
    max_issuer_keys: dict[str, str] = Field(default_factory=dict)
    #: the wait for the issuer; past it, staff check the age (the kiosk says so within 2 s)
    max_timeout_s: Annotated[float, Field(gt=0, le=1.8)] = 1.5

    @field_validator("max_issuer_keys")
    @classmethod
    def _keys(cls, value: dict[str, str]) -> dict[str, str]:
        for kid, text in value.items():
            try:
                token.public_key(text)
            except ValueError as e:
                raise ValueError(f"issuer key {kid!r}: {e}") from None
        return value


class MaxIdBackend(AgeBackend):
    method = "digital_id"

    def __init__(self, url: str, keys: dict[str, str], timeout_s: float = 1.5) -> None:
        self.url = f"{url.rstrip('/')}/v1/age/redeem"
        self.keys = {kid: token.public_key(text) for kid, text in keys.items()}
        self.client = httpx.AsyncClient(timeout=timeout_s)
        self._noise = ThrottledLog(log)

    def recognizes(self, text: str) -> bool:
        return token.looks_like(text)

    async def decide(self, text: str) -> AgeDecision:
        try:
            tok = token.parse(text)
            if self.keys:
                token.verify(tok, self.keys)
        except token.TokenError as e:
            return AgeDecision.refused(e.code)
        try:
            response = await self.client.post(self.url, json={"token": text})
            body = response.json()
        except (httpx.HTTPError, ValueError) as e:
            self._noise.warning("issuer", "the digital ID issuer did not answer (staff check ages): %s", e)
            return AgeDecision("unavailable", "unavailable", ref=tok.ref)
        if response.status_code == 200 and isinstance(body, dict) and body.get("status") == "valid":
            age_over = body.get("age_over")
            if isinstance(age_over, int) and not isinstance(age_over, bool):
                return AgeDecision("accepted", age_over=age_over, ref=tok.ref)
        error = body.get("error") if isinstance(body, dict) else None
        if 400 <= response.status_code < 500 and error in REFUSALS:
            return AgeDecision.refused(str(error), tok.ref)
        self._noise.warning("answer", "the digital ID issuer answered %s %r", response.status_code, body)
        return AgeDecision("unavailable", "unavailable", ref=tok.ref)

    async def aclose(self) -> None:
        await self.client.aclose()


def build(keys: MaxIdKeys) -> MaxIdBackend:
    return MaxIdBackend(keys.max_url, keys.max_issuer_keys, keys.max_timeout_s)
