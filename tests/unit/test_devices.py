"""Device credentials: provisioning again cuts off what a device had, a link opened twice
leaves nobody enrolled, and a credential unused too long expires while each use renews it."""

from __future__ import annotations

import time
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from edge_agent.repositories import open_repositories
from edge_agent.security.devices import Device, Devices, LinkReused

KIOSK = Device("kiosk-lane-1", "kiosk", lane="lane-1")


def devices(tmp_path: Path, **kw: float) -> Devices:
    return Devices(open_repositories(tmp_path / "a.db", tz=ZoneInfo("Europe/Moscow")).devices, **kw)


def test_provisioning_again_revokes_the_earlier_credential_unless_kept(tmp_path: Path) -> None:
    d = devices(tmp_path)
    first = d.provision(KIOSK).token
    kept = d.provision(KIOSK, keep=True).token
    assert d.by_token(first) == KIOSK and d.by_token(kept) == KIOSK
    fresh = d.provision(KIOSK).token
    assert d.by_token(first) is None and d.by_token(kept) is None and d.by_token(fresh) == KIOSK


def test_a_link_opened_twice_revokes_the_device(tmp_path: Path) -> None:
    d = devices(tmp_path)
    code = d.provision(KIOSK, enrol=True).enrol_code
    got = d.enrol(code)
    assert got is not None and d.by_token(got[1]) == KIOSK
    with pytest.raises(LinkReused) as reused:
        d.enrol(code)
    assert reused.value.device == KIOSK and d.by_token(got[1]) is None
    assert d.enrol("never-issued") is None


def test_a_credential_unused_too_long_expires_and_each_use_renews_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    d, real = devices(tmp_path, idle_expiry_s=7200.0), time.time
    token = d.provision(KIOSK).token
    for hours in (1.5, 3.0, 4.5):  # used every 90 minutes: renewed each time
        monkeypatch.setattr(time, "time", lambda hours=hours: real() + hours * 3600)
        assert d.by_token(token) == KIOSK
    monkeypatch.setattr(time, "time", lambda: real() + 7.0 * 3600)  # then two and a half hours unused
    assert d.by_token(token) is None
