"""`edge-agent demo` as a newcomer runs it in a terminal: what it prints is what a person needs
(links, no log lines), a kiosk enrols and keeps its WebSocket open, and Ctrl-C stops the store
cleanly: exit 0, no traceback, in seconds."""

from __future__ import annotations

import os
import re
import signal
import socket
import ssl
import subprocess
import sys
import time
from pathlib import Path

import httpx
from websockets.sync.client import connect

from tests.conftest import ROOT


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_a_newcomer_s_demo_prints_links_not_logs_and_stops_cleanly_on_ctrl_c(tmp_path: Path) -> None:
    port = free_port()
    exe = Path(sys.executable).parent / "edge-agent"
    env = {**os.environ, "EDGE_AGENT__AGENT__DATA_DIR": str(tmp_path), "EDGE_AGENT__HTTP__PORT": str(port)}
    proc = subprocess.Popen(
        [str(exe), "demo"], cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL
    )
    try:
        assert proc.stdout is not None
        printed: list[str] = []
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not any(line.startswith("Ctrl-C") for line in printed):
            line = proc.stdout.readline().decode()
            assert line, f"the demo ended early: {proc.stderr.read().decode() if proc.stderr else ''}"
            printed.append(line)
        text = "".join(printed)
        link = re.search(r"lane-1\s+(https://\S+/enrol/\S+)", text)
        assert link is not None, text
        assert not [ln for ln in printed if re.match(r"(INFO|WARNING|ERROR|DEBUG):", ln)]  # the logs go to a file
        ctx = ssl.create_default_context(cafile=str(tmp_path / "demo" / "tls" / "ca.crt"))
        with httpx.Client(verify=ctx) as browser:  # the kiosk opens its link: the device cookie
            enrolled = browser.get(link.group(1))
            assert enrolled.status_code == 303
            cookie = "; ".join(f"{k}={v}" for k, v in browser.cookies.items())
        base = f"127.0.0.1:{port}"
        with connect(
            f"wss://{base}/api/kiosk/lane-1/ws",
            ssl=ctx,
            additional_headers={"cookie": cookie},
            origin=f"https://{base}",
        ) as ws:  # type: ignore[arg-type]
            assert "basket" in ws.recv(10)
            proc.send_signal(signal.SIGINT)  # Ctrl-C with a kiosk still connected
            out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == 0, err.decode()[-2000:]
    assert b"Traceback" not in out + err, (out + err).decode()[-3000:]
    assert not re.search(rb"^(DEBUG|INFO|WARNING|ERROR):", err, re.MULTILINE), err.decode()[-2000:]  # in demo.log
