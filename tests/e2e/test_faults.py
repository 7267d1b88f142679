"""Faults as an operator's bad day brings them, against the real daemon process (`edge-agent
run`) and the simulators in their own processes: a reader outage, a full disk, a journal that
does not replay."""

from __future__ import annotations

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


def get(port: int, path: str) -> Any:
    try:
        return httpx.get(f"http://127.0.0.1:{port}{path}", timeout=2).json()
    except (httpx.HTTPError, ValueError):
        return None


@contextmanager
def llrp_sim(port: int, tags: int = 5, seed: int = 3) -> Iterator[subprocess.Popen[str]]:
    proc = subprocess.Popen([*EDGE, "sim", "llrp", "--port", str(port), "--tags", str(tags), "--antennas", "1",
                             "--seed", str(seed), "--reads-per-s", "400", "--miss-rate", "0"],
                            cwd=ROOT, stdout=subprocess.PIPE, text=True)  # fmt: skip
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


def write_config(path: Path, data_dir: Path, reader_port: int, http_port: int, extra: str = "") -> Path:
    path.write_text(
        f'[agent]\ndata_dir = "{data_dir}"\nlog_level = "WARNING"\n'
        f"[mqtt]\nenabled = false\n[http]\nport = {http_port}\n"
        '[verify]\nlocal_module_url = "http://127.0.0.1:9"\nts_piot_url = "http://127.0.0.1:9"\n'
        f'[[readers]]\nid = "box-1"\ndriver = "llrp"\nport = {reader_port}\nkeepalive_s = 0.5\n'
        '[[lanes]]\nid = "lane-1"\nmode = "box"\nsettle_s = 0.3\ndepart_after_s = 1.5\n'
        '[[lanes.zones]]\nreader = "box-1"\n' + extra
    )
    return path


def line_ids(http_port: int) -> list[int]:
    basket = get(http_port, "/api/kiosk/lane-1/basket") or {}
    return [line["id"] for line in basket.get("lines", [])]


def reader_state(http_port: int) -> str | None:
    health = get(http_port, "/healthz") or {}
    return (health.get("readers", {}).get("box-1") or {}).get("state")


def test_a_5_s_reader_outage_leaves_the_basket_lines_and_ids_unchanged(tmp_path: Path) -> None:
    reader_port, http_port = free_port(), free_port()
    config = write_config(tmp_path / "edge-agent.toml", tmp_path / "var", reader_port, http_port)
    with daemon(config):
        with llrp_sim(reader_port):
            wait_for(lambda: len(line_ids(http_port)) == 5, what="five lines")
            before = line_ids(http_port)
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
