"""Staff authentication (a PIN, or a staff NFC badge tapped on any reader, exchanged for a
short-lived bearer token) and the public page's rate limiter. Tokens live in memory: a
restart signs everyone out, which is the safe side."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from dataclasses import dataclass, field
from typing import Final

TOKEN_TTL_S: Final = 15 * 60
BADGE_WAIT_S: Final = 60


@dataclass(frozen=True, slots=True)
class StaffMember:
    id: str
    name: str
    pin_sha256: str
    badge: str | None = None  # the badge's UID (hex) or NDEF text, as the reader reports it


@dataclass
class Session:
    staff: StaffMember
    device: str
    expires: float


@dataclass
class Tokens:
    staff: dict[str, StaffMember]
    ttl_s: float = TOKEN_TTL_S
    sessions: dict[str, Session] = field(default_factory=dict)
    challenges: dict[str, tuple[float, str | None]] = field(default_factory=dict)  # code -> (expires, token)

    def by_pin(self, staff_id: str, pin: str, device: str) -> str | None:
        member = self.staff.get(staff_id)
        if member is None:
            hmac.compare_digest("0" * 64, hashlib.sha256(pin.encode()).hexdigest())  # same time either way
            return None
        if not hmac.compare_digest(member.pin_sha256, hashlib.sha256(pin.encode()).hexdigest()):
            return None
        return self._issue(member, device)

    def _issue(self, member: StaffMember, device: str) -> str:
        token = secrets.token_urlsafe(24)
        self.sessions[token] = Session(member, device, time.time() + self.ttl_s)
        return token

    def check(self, token: str) -> Session | None:
        session = self.sessions.get(token)
        if session is None or session.expires < time.time():
            self.sessions.pop(token, None)
            return None
        return session

    # -- the badge: the handheld asks for a challenge, the staff member taps a badge ----------------
    def challenge(self) -> str:
        now = time.time()
        self.challenges = {c: v for c, v in self.challenges.items() if v[0] > now}
        code = secrets.token_urlsafe(12)
        self.challenges[code] = (now + BADGE_WAIT_S, None)
        return code

    def badge_read(self, raw: str, reader: str) -> str | None:
        """A tap on any reader: if it is a staff badge, the oldest waiting challenge gets a token."""
        member = next((m for m in self.staff.values() if m.badge and m.badge.upper() == raw.upper()), None)
        if member is None:
            return None
        now = time.time()
        waiting = sorted((exp, c) for c, (exp, tok) in self.challenges.items() if tok is None and exp > now)
        if not waiting:
            return member.id
        code = waiting[0][1]
        self.challenges[code] = (self.challenges[code][0], self._issue(member, f"badge@{reader}"))
        return member.id

    def redeem(self, code: str) -> str | None:
        entry = self.challenges.get(code)
        if entry is None or entry[1] is None:
            return None
        del self.challenges[code]
        return entry[1]


class RateLimiter:
    """A token bucket per client address: ``rate`` requests/s, bursts up to ``burst``."""

    def __init__(self, rate: float, burst: int, max_clients: int = 10_000) -> None:
        self.rate, self.burst, self.max_clients = rate, burst, max_clients
        self._buckets: dict[str, tuple[float, float]] = {}

    def allow(self, client: str, now: float | None = None) -> bool:
        now = time.monotonic() if now is None else now
        tokens, last = self._buckets.get(client, (float(self.burst), now))
        tokens = min(float(self.burst), tokens + (now - last) * self.rate)
        if tokens < 1:
            self._buckets[client] = (tokens, now)
            return False
        if len(self._buckets) >= self.max_clients and client not in self._buckets:
            self._buckets.clear()  # a flood of addresses: start over rather than grow without bound
        self._buckets[client] = (tokens - 1, now)
        return True
