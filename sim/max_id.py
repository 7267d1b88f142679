"""The digital ID issuer (MAX's «Цифровой ID»), simulated: it issues a shopper's age QR and
redeems it for a seller, once.

The protocol is the plausible one of ``edge_agent/age/max_id.py`` (the real retailer protocol
is not public): a token signed with the issuer's Ed25519 key, valid 30 s on the issuer's clock,
single use, carrying only "over N". ``POST /v1/age/redeem {"token"}`` answers 200 ``{"status":
"valid", "age_over"}`` or ``410 expired``, ``409 replayed``, ``403 forged``, ``400 unreadable``;
``GET /v1/keys`` lists the issuer's public keys. ``behaviour`` makes it slow, hang or fail
like a remote service.
"""

from __future__ import annotations

import json
import time
import uuid
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from edge_agent.age import token
from sim.crpt import Behaviour
from sim.http import JsonServer, Request, Response

VALID_S = 30.0


class MaxIdSim:
    def __init__(self, host: str = "127.0.0.1", port: int = 0, kid: str = "max-2026-1") -> None:
        self.kid = kid
        self._key = Ed25519PrivateKey.generate()
        self.server = JsonServer(self._handle, host, port)
        self.behaviour = Behaviour()
        self.redeemed: dict[str, str] = {}  # jti -> who redeemed it (the seller's address)
        self.refusals: dict[str, int] = {}

    @property
    def url(self) -> str:
        return self.server.url

    @property
    def public_key(self) -> str:
        """Base64url of the raw public key, as ``[age] max_issuer_keys`` pins it."""
        return token.b64(self._key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw))

    @property
    def keys(self) -> dict[str, str]:
        return {self.kid: self.public_key}

    async def start(self) -> MaxIdSim:
        await self.server.start()
        return self

    async def stop(self) -> None:
        await self.server.stop()

    async def __aenter__(self) -> MaxIdSim:
        return await self.start()

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()

    def issue(self, age_over: int = 18, *, issued_ago_s: float = 0.0) -> str:
        """The QR the shopper's phone shows now (``issued_ago_s``: one shown that long ago)."""
        iat = time.time() - issued_ago_s
        payload = {
            "kid": self.kid,
            "jti": uuid.uuid4().hex,
            "iat": int(iat),
            "exp": iat + VALID_S,
            "age_over": age_over,
        }
        return token.sign(self._key, payload)

    @staticmethod
    def forge(age_over: int = 18, kid: str = "max-2026-1") -> str:
        """A QR made with a key that is not the issuer's."""
        payload = {
            "kid": kid,
            "jti": uuid.uuid4().hex,
            "iat": int(time.time()),
            "exp": time.time() + 30,
            "age_over": age_over,
        }
        return token.sign(Ed25519PrivateKey.generate(), payload)

    def _refuse(self, status: int, error: str) -> Response:
        self.refusals[error] = self.refusals.get(error, 0) + 1
        return Response(status, {"error": error})

    async def _handle(self, req: Request) -> Response:
        if (fault := await self.behaviour.apply()) is not None:
            return fault
        if req.method == "GET" and req.path == "/v1/keys":
            return Response(200, {"keys": self.keys})
        if req.method != "POST" or req.path != "/v1/age/redeem":
            return Response(404, {"error": "not_found"})
        try:
            body: Any = req.json()
            tok = token.parse(body["token"])
        except (ValueError, KeyError, TypeError, token.TokenError):
            return self._refuse(400, "unreadable")
        try:
            token.verify(tok, {self.kid: self._key.public_key()})
        except token.TokenError:
            return self._refuse(403, "forged")
        payload: dict[str, Any] = json.loads(token.unb64(tok.signed.decode()[len(token.PREFIX) :]))
        if time.time() > float(payload.get("exp", 0)):
            return self._refuse(410, "expired")
        if tok.jti in self.redeemed:
            return self._refuse(409, "replayed")
        self.redeemed[tok.jti] = req.headers.get("x-forwarded-for", "")
        return Response(200, {"status": "valid", "age_over": tok.age_over})
