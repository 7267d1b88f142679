"""The digital ID's age QR, as text: read and signature-checked here, pure.

The retailer-side protocol of MAX's digital ID is not public (law-2026.md §5); this is the
plausible one the simulator speaks, so the real one is one backend away:

    MAXID1.<payload>.<signature>

``payload`` is base64url (no padding) of a JSON object ``{"kid", "jti", "iat", "exp",
"age_over"}``: the issuer's key id, the token's single-use id, its issue and expiry times on
the issuer's clock (30 s apart; never compared with ours: the issuer judges expiry when the
token is redeemed), and the one claim, the age the holder is over. No name, no birth date: the
seller learns only the status. ``signature`` is base64url of the issuer's Ed25519 signature of
``MAXID1.<payload>``.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

from edge_agent.errors import EdgeError

PREFIX: Final = "MAXID1."
MAX_TEXT: Final = 2048  # a QR's text; longer is not a token


class TokenError(EdgeError):
    """A QR that is not a valid age token: ``unreadable`` (not the format) or ``forged`` (a
    signature that is not the issuer's)."""


@dataclass(frozen=True, slots=True)
class AgeToken:
    kid: str
    jti: str
    age_over: int
    signed: bytes  # what the signature covers
    signature: bytes

    @property
    def ref(self) -> str:
        """What the audit keeps of a token: a digest of its single-use id, no personal data."""
        return hashlib.sha256(self.jti.encode()).hexdigest()[:16]


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def looks_like(text: str) -> bool:
    """The scan is an age token (and not an item): the kiosk's scanner reads both."""
    return text.startswith(PREFIX)


def parse(text: str) -> AgeToken:
    """The token in a scanned QR, or ``TokenError("unreadable")`` saying what is wrong."""
    if not looks_like(text) or len(text) > MAX_TEXT:
        raise TokenError("unreadable", "not a digital ID age code")
    parts = text[len(PREFIX) :].split(".")
    if len(parts) != 2:
        raise TokenError("unreadable", "an age code has a payload and a signature")
    try:
        payload = json.loads(unb64(parts[0]))
        signature = unb64(parts[1])
    except (binascii.Error, ValueError):
        raise TokenError("unreadable", "the age code is damaged (not base64url JSON)") from None
    if not isinstance(payload, dict):
        raise TokenError("unreadable", "the age code's payload is not an object")
    kid, jti, age_over = payload.get("kid"), payload.get("jti"), payload.get("age_over")
    if not isinstance(kid, str) or not isinstance(jti, str) or not jti:
        raise TokenError("unreadable", "the age code names no issuer key or token id")
    if not isinstance(age_over, int) or isinstance(age_over, bool) or not 0 <= age_over <= 150:
        raise TokenError("unreadable", "the age code carries no age claim")
    signed = (PREFIX + parts[0]).encode()
    return AgeToken(kid=kid, jti=jti, age_over=age_over, signed=signed, signature=signature)


def verify(token: AgeToken, keys: Mapping[str, Ed25519PublicKey]) -> None:
    """Raise ``TokenError("forged")`` unless an issuer key signed the token."""
    key = keys.get(token.kid)
    if key is None:
        raise TokenError("forged", f"the age code is signed with an unknown key {token.kid!r}")
    try:
        key.verify(token.signature, token.signed)
    except InvalidSignature:
        raise TokenError("forged", "the age code's signature is not the issuer's") from None


def public_key(text: str) -> Ed25519PublicKey:
    """An issuer key as configured: base64url of its 32 raw bytes."""
    try:
        return Ed25519PublicKey.from_public_bytes(unb64(text))
    except (binascii.Error, ValueError) as e:
        raise ValueError(f"not an Ed25519 public key (32 bytes, base64url): {e}") from None


def sign(key: Ed25519PrivateKey, payload: Mapping[str, object]) -> str:
    """A token's text (the issuer's side: the simulator and tests)."""
    body = PREFIX + b64(json.dumps(payload, separators=(",", ":")).encode())
    return f"{body}.{b64(key.sign(body.encode()))}"
