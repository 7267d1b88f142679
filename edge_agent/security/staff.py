"""Staff sign-in (docs/security.md): PINs, badges and the sessions they open.

A PIN is checked under scrypt (``security/pins.py``) off the event loop, at most two at a
time; attempts are capped per handheld and per address (``Window``) and a staff id locks
after a few failures in a row on one handheld (``Lockout``, per staff id and handheld): while
locked even the right PIN is refused there.
A badge sign-in belongs to the handheld that asked: the tap must happen on that handheld's
own staff reader while exactly one sign-in waits there, one tap gives at most one session,
and unless ``allow_uid_badges`` the PIN typed on the handheld must match the badge's owner.
A session is bound to the handheld it was issued to. Tokens live in memory: a restart signs
everyone out, which is the safe side.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Final, Literal

from edge_agent.config import Security
from edge_agent.security import pins
from edge_agent.security.throttle import Lockout, Window

TOKEN_TTL_S: Final = 15 * 60
BADGE_WAIT_S: Final = 60


@dataclass(frozen=True, slots=True)
class StaffMember:
    id: str
    name: str
    pin_hash: str
    badge: str | None = None  # the badge's UID (hex) or NDEF text, as the reader reports it


@dataclass
class Session:
    staff: StaffMember
    device: str
    expires: float


Outcome = Literal["ok", "bad_credentials", "locked", "throttled"]


@dataclass(frozen=True, slots=True)
class SignIn:
    outcome: Outcome
    token: str | None = None
    staff: StaffMember | None = None
    retry_after_s: float = 0.0
    locked_now: bool = False  # this failure locked the staff id


@dataclass
class Challenge:
    device: str
    reader: str
    expires: float
    pin: str | None
    tapped: StaffMember | None = None
    spent: bool = False


@dataclass
class Tokens:
    staff: dict[str, StaffMember]
    settings: Security = field(default_factory=Security)
    ttl_s: float = TOKEN_TTL_S
    clock: Callable[[], float] = time.time
    sessions: dict[str, Session] = field(default_factory=dict)
    challenges: dict[str, Challenge] = field(default_factory=dict)

    def __post_init__(self) -> None:
        s = self.settings
        self.lockout = Lockout(s.pin_max_failures, s.pin_lockout_s)
        self.attempts = Window(s.sign_in_per_min)
        self._hashing = asyncio.Semaphore(2)  # scrypt is 16 MB and ~40 ms: two at a time, off the loop

    async def _verify(self, member: StaffMember | None, pin: str) -> bool:
        async with self._hashing:
            ok = await asyncio.to_thread(pins.verify, member.pin_hash if member else pins.DECOY, pin)
        return ok and member is not None

    async def by_pin(self, staff_id: str, pin: str, device: str, address: str) -> SignIn:
        """A PIN typed on ``device`` (a handheld's name) from ``address``."""
        now = self.clock()
        for key in (f"device:{device}", f"address:{address}"):
            if not self.attempts.allow(key, now):
                return SignIn("throttled", retry_after_s=self.attempts.retry_after(key, now))
        return await self._pin(self.staff.get(staff_id), staff_id, pin=pin, device=device, now=now)

    async def _pin(self, member: StaffMember | None, staff_id: str, *, pin: str, device: str, now: float) -> SignIn:
        # a staff id is locked on the handheld the failures came from: a stolen handheld cannot
        # lock the staff out of every other one (its own guesses stay capped there)
        key = f"{staff_id}@{device}"
        left = self.lockout.locked_for(key, now)
        if left:
            return SignIn("locked", staff=member, retry_after_s=left)
        if not await self._verify(member, pin):
            locked = self.lockout.failed(key, now)
            return SignIn("bad_credentials", staff=member, locked_now=locked)
        assert member is not None
        self.lockout.succeeded(key)
        return SignIn("ok", self._issue(member, device), member)

    def _issue(self, member: StaffMember, device: str) -> str:
        token = secrets.token_urlsafe(24)
        self.sessions[token] = Session(member, device, self.clock() + self.ttl_s)
        return token

    def check(self, token: str, device: str) -> Session | None:
        """The session of ``token`` if it is live and was issued to ``device``."""
        session = self.sessions.get(token)
        if session is None or session.expires < self.clock():
            self.sessions.pop(token, None)
            return None
        return session if secrets.compare_digest(session.device, device) else None

    # -- the badge: the handheld asks, the staff member taps the badge on that handheld's reader --
    def challenge(self, device: str, reader: str, pin: str | None) -> str:
        """A badge sign-in for ``device``, whose staff reader is ``reader`` (one at a time)."""
        now = self.clock()
        self.challenges = {c: v for c, v in self.challenges.items() if v.expires > now and v.device != device}
        code = secrets.token_urlsafe(16)
        self.challenges[code] = Challenge(device, reader, now + BADGE_WAIT_S, pin)
        return code

    def member_of(self, raw: str) -> StaffMember | None:
        raw = raw.upper()
        return next((m for m in self.staff.values() if m.badge and secrets.compare_digest(m.badge.upper(), raw)), None)

    def badge_read(self, raw: str, reader: str) -> str | None:
        """A tap on a staff reader: the one sign-in waiting on that reader gets it. None waiting:
        nobody. More than one (a race, or a second handheld on the reader): nobody, and every
        sign-in waiting there ends (each handheld starts again, alone)."""
        member = self.member_of(raw)
        if member is None:
            return None
        now = self.clock()
        waiting = [
            c
            for c in self.challenges.values()
            if c.reader == reader and c.expires > now and c.tapped is None and not c.spent
        ]
        if len(waiting) != 1:
            for c in waiting:
                c.spent = True
            return None
        waiting[0].tapped = member
        return member.id

    async def redeem(self, code: str, device: str) -> SignIn | None:
        """The handheld asks whether its badge was tapped: None while waiting."""
        c = self.challenges.get(code)
        if c is None or c.device != device or c.expires < self.clock() or c.spent:
            return SignIn("bad_credentials")
        if c.tapped is None:
            return None
        c.spent = True  # one tap, one session at most, whatever happens next
        del self.challenges[code]
        if self.settings.allow_uid_badges:
            return SignIn("ok", self._issue(c.tapped, device), c.tapped)
        return await self._pin(c.tapped, c.tapped.id, pin=c.pin or "", device=device, now=self.clock())
