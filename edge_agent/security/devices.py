"""Device credentials: every kiosk and staff handheld has its own, and an address is never one.

``provision`` gives a device a credential: a random token for a program, which sends it as
``X-Device-Token`` (tests, the demo's shoppers), or a one-time enrolment code for a browser,
which opens ``/enrol/{code}`` once and gets a fresh token as an HttpOnly, Secure,
SameSite=Strict cookie (the code is then spent). Only SHA-256 digests of tokens and codes are
stored; a device keeps every credential it was given until it is revoked. A kiosk is bound to
one lane, a handheld to the staff reader its badge taps happen on. ``edge-agent device
provision|list|revoke`` is the shell.
"""

from __future__ import annotations

import hashlib
import secrets
import time
from dataclasses import dataclass
from typing import Final, Literal

from edge_agent.security.records import Credential, DeviceRecords

COOKIE: Final = "edge_device"
HEADER: Final = "x-device-token"
ENROL_TTL_S: Final = 24 * 3600.0
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


class Devices:
    def __init__(self, records: DeviceRecords) -> None:
        self.records = records

    def provision(self, device: Device, *, enrol: bool = False) -> Provisioned:
        """A new credential for ``device``: a token for a program, or (``enrol``) a one-time code
        whose browser gets the token as a cookie. Other credentials of the device stay valid
        until ``revoke``."""
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
        row = self.records.find("token_sha256", digest(token))
        if row is None or row.enrol_expires is not None:  # not enrolled yet: the placeholder token is nothing
            return None
        return _device(row)

    def enrol(self, code: str) -> tuple[Device, str] | None:
        """Spend a one-time enrolment code: the device and the token for its browser's cookie."""
        if not code or len(code) > 64:
            return None
        row = self.records.find("enrol_sha256", digest(code))
        if row is None or (row.enrol_expires or 0) < time.time():
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
