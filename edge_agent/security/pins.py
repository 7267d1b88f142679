"""Staff PINs under scrypt (RFC 7914, from the standard library), salted per PIN. Pure.

The stored form is ``scrypt$<n>$<r>$<p>$<salt>$<hash>`` (salt and hash in unpadded base64url),
so the cost can rise later without breaking stored PINs: ``verify`` reads it from the string.
At n = 2**14, r = 8 one guess costs 25 ms and 16 MB here (bench/security.py: 43,000× an
unsalted SHA-256): every 4-digit PIN takes 4 minutes on one core instead of 6 ms, every 6-digit
one 7 hours, and a stolen config file gives an attacker no table to look PINs up in. A PIN is
short: online, the lockout (``throttle.py``) is what holds.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from typing import Final

from edge_agent.errors import EdgeError

N: Final = 2**14
R: Final = 8
P: Final = 1
_MAXMEM: Final = 64 * 1024 * 1024


class PinHashError(EdgeError, ValueError):
    """A stored PIN that is not ``scrypt$n$r$p$salt$hash`` (code ``bad_pin_hash``)."""

    def __init__(self, message: str) -> None:
        super().__init__("bad_pin_hash", message)
        self.args = (message,)


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def hash_pin(pin: str, *, n: int = N, r: int = R, p: int = P, salt: bytes | None = None) -> str:
    salt = secrets.token_bytes(16) if salt is None else salt
    digest = hashlib.scrypt(pin.encode(), salt=salt, n=n, r=r, p=p, maxmem=_MAXMEM, dklen=32)
    return f"scrypt${n}${r}${p}${_b64(salt)}${_b64(digest)}"


def parse(stored: str) -> tuple[int, int, int, bytes, bytes]:
    parts = stored.split("$")
    if len(parts) != 6 or parts[0] != "scrypt":
        raise PinHashError("a PIN hash is scrypt$n$r$p$salt$hash (make one with `edge-agent staff hash-pin`)")
    try:
        n, r, p = (int(x) for x in parts[1:4])
        salt, digest = _unb64(parts[4]), _unb64(parts[5])
    except ValueError:
        raise PinHashError("the PIN hash's cost, salt or hash is not readable") from None
    if n < 2**12 or n & (n - 1) or not 1 <= r <= 32 or not 1 <= p <= 16 or len(salt) < 8 or len(digest) != 32:
        raise PinHashError("the PIN hash's parameters are too weak or not scrypt's (n a power of 2 ≥ 4096)")
    return n, r, p, salt, digest


def verify(stored: str, pin: str) -> bool:
    n, r, p, salt, digest = parse(stored)
    got = hashlib.scrypt(pin.encode(), salt=salt, n=n, r=r, p=p, maxmem=_MAXMEM, dklen=len(digest))
    return hmac.compare_digest(got, digest)


#: a hash to verify against when the staff id is unknown: the answer takes as long either way
DECOY: Final = hash_pin("decoy", salt=b"edge-agent-decoy")
