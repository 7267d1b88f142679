"""Device credentials: every kiosk and staff handheld has its own, and an address is never one.

``provision`` gives a device a credential: a random token for a program, which sends it as
``X-Device-Token`` (tests, the demo's shoppers), or a one-time enrolment code for a browser,
which opens ``/enrol/{code}`` once and gets a fresh token as an HttpOnly, Secure,
SameSite=Strict cookie (the code is then spent). Only SHA-256 digests of tokens and codes are
stored. Provisioning a device again revokes what it had (an attacker who enrolled first is cut
off); a link opened a second time, by anyone, revokes the device (both browsers lose it) and
the caller alerts staff, who provision it again; a credential unused for ``idle_expiry_s``
expires, and each use renews it. A kiosk is bound to one lane, a handheld to the staff reader
its badge taps happen on. ``edge-agent device provision|list|revoke`` is the shell.
"""

from __future__ import annotations

import contextlib
import hashlib
import secrets
import time
from dataclasses import dataclass
from typing import Final, Literal

from edge_agent.db import StoreError
from edge_agent.security.records import Credential, DeviceRecords

COOKIE: Final = "edge_device"
HEADER: Final = "x-device-token"
ENROL_TTL_S: Final = 24 * 3600.0
IDLE_EXPIRY_S: Final = 30 * 86400.0  # a credential unused this long is no longer good
RENEW_EVERY_S: Final = 3600.0  # a use is written down at most this often per credential
Kind = Literal["kiosk", "handheld"]


@dataclass(frozen=True, slots=True)
class Device:
    name: str
    kind: Kind
    lane: str | None = None
    reader: str | None = None

    def is_kiosk_of(self, lane: str) -> bool:
        return self.kind == "kiosk" and self.lane == lane


@dataclass(frozen=True, slots=True)
class Provisioned:
    device: Device
    token: str
    enrol_code: str

    def enrol_path(self) -> str:
        return f"/enrol/{self.enrol_code}"


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


class LinkReused(Exception):
    """An enrolment link opened a second time: the device it enrolled is revoked."""

    def __init__(self, device: Device) -> None:
        super().__init__(f"the enrolment link of {device.name} was opened twice: the device is revoked")
        self.device = device


class Devices:
    def __init__(self, records: DeviceRecords, *, idle_expiry_s: float = IDLE_EXPIRY_S) -> None:
        self.records = records
        self.idle_expiry_s = idle_expiry_s

    def provision(self, device: Device, *, enrol: bool = False, keep: bool = False) -> Provisioned:
        """A new credential for ``device``: a token for a program, or (``enrol``) a one-time code
        whose browser gets the token as a cookie. The device's earlier credentials are revoked,
        unless ``keep`` (a device that is both a browser and a program, as in the demo)."""
        if not keep:
            self.records.revoke(device.name)
        token, code = "edt_" + secrets.token_urlsafe(32), secrets.token_urlsafe(18)
        self.records.put(
            Credential(
                name=device.name,
                kind=device.kind,
                lane=device.lane,
                reader=device.reader,
                token_sha256=digest(token),
                enrol_sha256=digest(code) if enrol else None,
                enrol_expires=time.time() + ENROL_TTL_S if enrol else None,
                created_at=time.time(),
            )
        )
        return Provisioned(device, "" if enrol else token, code if enrol else "")

    def by_token(self, token: str | None) -> Device | None:
        if not token or len(token) > 128:
            return None
        hashed, now = digest(token), time.time()
        row = self.records.find("token_sha256", hashed)
        if row is None or row.enrol_expires is not None:  # not enrolled yet: the placeholder token is nothing
            return None
        used = row.used_at if row.used_at is not None else row.created_at
        if now - used > self.idle_expiry_s:
            return None  # unused too long: provision the device again
        if now - used > RENEW_EVERY_S:
            with contextlib.suppress(StoreError):  # a full disk: renewed at a later use
                self.records.used(hashed, now)
        return _device(row)

    def enrol(self, code: str) -> tuple[Device, str] | None:
        """Spend a one-time enrolment code: the device and the token for its browser's cookie."""
        if not code or len(code) > 64:
            return None
        row = self.records.find("enrol_sha256", digest(code))
        if row is None:
            spent = self.records.find("spent_sha256", digest(code))
            if spent is not None:  # opened before: by the device or by someone else, nobody keeps it
                self.records.revoke(spent.name)
                raise LinkReused(_device(spent))
            return None
        if (row.enrol_expires or 0) < time.time():
            return None
        token = "edt_" + secrets.token_urlsafe(32)
        if not self.records.enrolled(digest(code), digest(token)):
            return None  # spent meanwhile
        return _device(row), token

    def revoke(self, name: str) -> bool:
        return self.records.revoke(name)


def _device(c: Credential) -> Device:
    kind: Kind = "kiosk" if c.kind == "kiosk" else "handheld"
    return Device(c.name, kind, c.lane, c.reader)
