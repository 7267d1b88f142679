"""Faults as an operator's bad day brings them, against the real daemon process (`edge-agent
run`) and the simulators in their own processes: a reader outage, a full disk, a journal that
does not replay."""

from __future__ import annotations

import contextlib
import json
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from edge_agent.security.pins import hash_pin
from tests.conftest import ROOT

EDGE = [sys.executable, "-m", "edge_agent.cli"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def wait_for(check: Callable[[], bool], timeout: float = 20.0, what: str = "condition") -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what} not reached in {timeout} s")
        time.sleep(0.05)


OPS_TOKEN = "faults-ops-token"
#: http port -> the device tokens `edge-agent device provision` printed for that daemon's kiosk and handheld
TOKENS: dict[int, dict[str, str]] = {}


def headers(port: int, path: str) -> dict[str, str]:
    """What the daemon's own devices send for ``path`` (as tests/e2e/demo_store does for the demo)."""
    if path.startswith("/api/kiosk/"):
        return {"x-device-token": TOKENS[port]["kiosk"]}
    if path.startswith("/api/staff/"):
        return {"x-device-token": TOKENS[port]["handheld"]}
    return {"authorization": f"Bearer {OPS_TOKEN}"}


def get(port: int, path: str) -> Any:
    try:
        return httpx.get(f"http://127.0.0.1:{port}{path}", timeout=2, headers=headers(port, path)).json()
    except (httpx.HTTPError, ValueError):
        return None


def provision(config: Path, http_port: int) -> None:
    """A kiosk for lane-1 and a handheld, as an operator makes them (before the daemon starts)."""
    for kind, name in (("kiosk", "lane-1"), ("handheld", "hh-1")):
        out = subprocess.run(
            [*EDGE, "--config", str(config), "device", "provision", kind, name, "--token", "--json"],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=True,
        ).stdout
        TOKENS.setdefault(http_port, {})[kind] = json.loads(out)["token"]


@contextmanager
def llrp_sim(port: int, tags: int = 5, seed: int = 3) -> Iterator[subprocess.Popen[str]]:
    proc = subprocess.Popen(
        [
            *EDGE,
            "sim",
            "llrp",
            "--port",
            str(port),
            "--tags",
            str(tags),
            "--antennas",
            "1",
            "--seed",
            str(seed),
            "--reads-per-s",
            "400",
            "--miss-rate",
            "0",
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    proc.stdout.readline()  # listening
    try:
        yield proc
    finally:
        proc.kill()
        proc.wait(10)


@contextmanager
def daemon(config: Path) -> Iterator[subprocess.Popen[bytes]]:
    proc = subprocess.Popen([*EDGE, "--config", str(config), "run"], cwd=ROOT, stderr=subprocess.DEVNULL)
    try:
        yield proc
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            proc.wait(20)


def write_config(
    path: Path, data_dir: Path, reader_port: int, http_port: int, extra: str = "", devices: bool = True
) -> Path:
    path.write_text(
        f'[agent]\ndata_dir = "{data_dir}"\nlog_level = "WARNING"\n'
        f'[mqtt]\nenabled = false\n[http]\nport = {http_port}\nops_token = "{OPS_TOKEN}"\n'
        '[verify]\nlocal_module_url = "http://127.0.0.1:9"\nts_piot_url = "http://127.0.0.1:9"\n'
        f'[[readers]]\nid = "box-1"\ndriver = "llrp"\nport = {reader_port}\nkeepalive_s = 0.5\n'
        '[[lanes]]\nid = "lane-1"\nmode = "box"\nsettle_s = 0.3\ndepart_after_s = 1.5\n'
        '[[lanes.zones]]\nreader = "box-1"\n' + extra
    )
    if devices:
        provision(path, http_port)
    return path


def line_ids(http_port: int) -> list[int]:
    basket = get(http_port, "/api/kiosk/lane-1/basket") or {}
    return [line["id"] for line in basket.get("lines", [])]


def reader_state(http_port: int) -> str | None:
    health = get(http_port, "/healthz") or {}
    return (health.get("readers", {}).get("box-1") or {}).get("state")


def reader_log(tmp_path: Path, with_times: bool = False) -> Any:
    """The reader's changes in the store's health log (the dashboard's health over time)."""
    with contextlib.closing(sqlite3.connect(tmp_path / "var" / "edge-agent.db")) as db:
        rows = db.execute("SELECT at, ok FROM health WHERE component = 'reader:box-1' ORDER BY id").fetchall()
    return [(at, bool(ok)) for at, ok in rows] if with_times else [bool(ok) for _, ok in rows]


def test_a_5_s_reader_outage_leaves_the_basket_lines_and_ids_unchanged(tmp_path: Path) -> None:
    reader_port, http_port = free_port(), free_port()
    config = write_config(tmp_path / "edge-agent.toml", tmp_path / "var", reader_port, http_port)
    with daemon(config):
        with llrp_sim(reader_port):
            wait_for(lambda: len(line_ids(http_port)) == 5, what="five lines")
            before = line_ids(http_port)
            wait_for(lambda: reader_log(tmp_path) == [True], what="the reader up in the health log")
        # the reader is gone (power cut): the daemon sees it within seconds, the basket stays
        down_at = time.monotonic()
        wait_for(lambda: reader_state(http_port) not in (None, "online"), what="reader offline")
        assert (get(http_port, "/healthz") or {})["status"] == "degraded"
        time.sleep(max(0.0, 5.0 - (time.monotonic() - down_at)))  # the outage lasts 5 s
        assert line_ids(http_port) == before
        with llrp_sim(reader_port):  # back, with the same five tags in the box
            wait_for(lambda: reader_state(http_port) == "online", what="reader online")
            time.sleep(3.0)  # two departure periods: time for a wrong departure to show
            assert line_ids(http_port) == before
    journal = sqlite3.connect(tmp_path / "var" / "edge-agent.db").execute("SELECT op FROM journal").fetchall()
    assert [op for (op,) in journal] == ["add"] * 5  # nothing removed, nothing added again
    assert json.dumps(before) == json.dumps(sorted(before))
    health = reader_log(tmp_path, with_times=True)
    # the dashboard's health over time: up, down for the outage's ~5 s, up again (then down as
    # the simulator goes at the end)
    outages = [health[i + 1][0] - at for i, (at, ok) in enumerate(health[:-1]) if not ok and i > 0]
    assert [ok for _, ok in health[:3]] == [True, False, True]
    assert 4.0 <= outages[0] <= 15.0


@contextmanager
def small_disk(path: Path, size: str = "2m") -> Iterator[Path]:
    """A filesystem of its own for the data directory, as small as a store server's worst day."""
    path.mkdir(parents=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)], check=True)
    try:
        yield path
    finally:
        subprocess.run(["umount", "-l", str(path)], check=False)


def fill_disk(path: Path) -> Path:
    filler = path / "filler"
    with filler.open("wb", buffering=0) as f:  # unbuffered: the last, partial write leaves nothing to flush
        try:
            while True:
                f.write(b"\0" * 65536)
        except OSError:
            pass
    return filler


def test_a_full_disk_refuses_items_visibly_and_the_daemon_resumes_by_itself(tmp_path: Path) -> None:
    a_port, b_port, http_port = free_port(), free_port(), free_port()
    data = tmp_path / "var"
    extra = (
        f'[[readers]]\nid = "box-2"\ndriver = "llrp"\nport = {b_port}\nkeepalive_s = 0.5\n'
        '[[lanes.zones]]\nreader = "box-2"\n'
        f'[[staff]]\nid = "s-1"\nname = "Anna"\npin_hash = "{hash_pin("1234", n=2**12)}"\n'
    )
    config = write_config(tmp_path / "edge-agent.toml", data, a_port, http_port, extra, devices=False)
    base = f"http://127.0.0.1:{http_port}"
    kiosk = f"{base}/api/kiosk/lane-1/basket"

    def journaled_adds() -> int:
        db = sqlite3.connect(f"file:{data / 'edge-agent.db'}?mode=ro", uri=True)
        try:
            return int(db.execute("SELECT COUNT(*) FROM journal WHERE op = 'add'").fetchone()[0])
        finally:
            db.close()

    with small_disk(data):
        provision(config, http_port)
        with daemon(config), llrp_sim(a_port, tags=3, seed=3):
            wait_for(lambda: len(line_ids(http_port)) == 3, what="three lines")
            filler = fill_disk(data)
            with llrp_sim(b_port, tags=2, seed=4):  # two more items while the disk is full
                wait_for(
                    lambda: (get(http_port, "/api/kiosk/lane-1/basket") or {}).get("paused") is not None,
                    what="the kiosk saying the lane takes no items",
                )
                basket = httpx.get(kiosk, headers=headers(http_port, "/api/kiosk/")).json()
                assert basket["paused"]["code"] == "store_unavailable"
                assert len(basket["lines"]) == 3 == journaled_adds()  # nothing shown that is not journaled
                health = get(http_port, "/healthz")
                assert health["status"] == "degraded" and "full" in health["store"]["fault"]
                wait_for(lambda: get(http_port, "/healthz")["store"]["waiting_events"] == {"lane-1": 2})
                hh = headers(http_port, "/api/staff/")
                refused = httpx.post(f"{base}/api/staff/token", json={"staff_id": "s-1", "pin": "1234"}, headers=hh)
                assert refused.status_code == 503 and refused.json()["detail"]["code"] == "store_unavailable"
                assert "edge_agent_store_ok 0.0" in httpx.get(f"{base}/metrics", headers=headers(http_port, "/")).text

                filler.unlink()  # the operator frees space: the daemon carries on by itself
                wait_for(lambda: len(line_ids(http_port)) == 5, what="the two waiting items recorded")
                assert httpx.get(kiosk, headers=headers(http_port, "/api/kiosk/")).json()["paused"] is None
                assert journaled_adds() == 5
                assert get(http_port, "/healthz")["store"]["ok"] is True
                token = httpx.post(
                    f"{base}/api/staff/token", json={"staff_id": "s-1", "pin": "1234"}, headers=hh
                ).json()["token"]
                first = line_ids(http_port)[0]
                voided = httpx.post(
                    f"{base}/api/staff/lanes/lane-1/lines/{first}/void",
                    headers={"Authorization": f"Bearer {token}", **hh},
                )
                assert voided.status_code == 200 and len(line_ids(http_port)) == 4
                kept = line_ids(http_port)
        # a restart (the readers are gone too: nothing departs from an offline reader)
        with daemon(config):
            wait_for(lambda: line_ids(http_port) == kept, what="the basket restored after the void")
        # and a start with the disk full: health is served, the daemon stays up, sales are refused
        fill_disk(data)
        with daemon(config) as proc:
            wait_for(lambda: (get(http_port, "/healthz") or {}).get("status") == "degraded", what="health")
            assert line_ids(http_port) == kept and proc.poll() is None


def test_a_journal_that_does_not_replay_never_stops_the_daemon_from_starting(tmp_path: Path) -> None:
    from datetime import UTC, datetime
    from zoneinfo import ZoneInfo

    from edge_agent.basket import Product
    from edge_agent.basket.commands import Add
    from edge_agent.repositories import open_repositories

    data = tmp_path / "var"
    store = open_repositories(data / "edge-agent.db", tz=ZoneInfo("Europe/Moscow"))
    bread = Product("04600000000015", "Bread", 5_500)
    bad = store.journal.open_basket("lane-1-broken", "lane-1")
    store.journal.apply(bad, Add(product=bread, gtin=bread.gtin, at=datetime.now(UTC), ki="0104600000000015215A"))
    store.db.conn.execute(
        "INSERT INTO journal (basket_id, seq, op, args, at) VALUES (?, 2, 'remove', ?, 0)",
        ("lane-1-broken", json.dumps({"line_id": 11, "by": "s-1", "device": "h", "at": datetime.now(UTC).isoformat()})),
    )
    store.db.conn.close()
    reader_port, http_port = free_port(), free_port()
    config = write_config(tmp_path / "edge-agent.toml", data, reader_port, http_port)
    with daemon(config) as proc, llrp_sim(reader_port, tags=2, seed=5):
        wait_for(lambda: len(line_ids(http_port)) == 2, what="the lane selling again with a new basket")
        health = get(http_port, "/healthz")
        assert health["status"] == "degraded" and proc.poll() is None
        (held,) = health["store"]["quarantined"]
        assert held["basket"] == "lane-1-broken" and "no_line" in held["reason"]
        assert get(http_port, "/api/kiosk/lane-1/basket")["id"] != "lane-1-broken"
