"""A flood of connections from many addresses against the real daemon (`edge-agent run`, over
TLS, its file limit lowered so the attack takes seconds): unknown addresses open as many
connections as they may and leave each TLS handshake half-sent. The enrolled kiosk is served
all along, the half-open handshakes are cut at the header deadline, nothing is logged in a
flood, and health says the ceiling was reached (docs/security.md)."""

from __future__ import annotations

import contextlib
import json
import resource
import socket
import ssl
import subprocess
import time
from pathlib import Path

import httpx

from tests.conftest import ROOT
from tests.e2e.test_faults import EDGE, OPS_TOKEN, free_port, wait_for

ATTACKERS = [f"127.0.0.{n}" for n in range(2, 14)]  # twelve addresses, none a device's
FILE_LIMIT = 256  # the daemon's: a ceiling of 128 connections, 32 of them kept for devices
#: the first bytes of a TLS ClientHello, and then nothing
HELLO = bytes.fromhex("16030100c4010000c00303") + b"\x00" * 16


def tls_dir(tmp_path: Path) -> Path:
    d = tmp_path / "tls"
    for args in (
        ["tls", "ca", "--dir", str(d)],
        ["tls", "cert", "--ca-dir", str(d), "--dir", str(d), "--host", "127.0.0.1"],
    ):
        subprocess.run([*EDGE, *args], cwd=ROOT, check=True, capture_output=True)
    return d


def test_a_flood_from_many_addresses_leaves_the_enrolled_kiosk_served(tmp_path: Path) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (max(soft, min(hard, 8192)), hard))  # the attacker's own
    tls, port = tls_dir(tmp_path), free_port()
    config = tmp_path / "edge.toml"
    config.write_text(
        f'[agent]\ndata_dir = "{tmp_path / "var"}"\nlog_level = "WARNING"\n[mqtt]\nenabled = false\n'
        f'[http]\nport = {port}\nops_token = "{OPS_TOKEN}"\nheader_timeout_s = 2.0\n'
        f'tls_cert = "{tls / "server.crt"}"\ntls_key = "{tls / "server.key"}"\n'
        '[[lanes]]\nid = "lane-1"\nmode = "tap"\n'
    )
    out = subprocess.run(
        [*EDGE, "--config", str(config), "device", "provision", "kiosk", "lane-1", "--token", "--json"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    token = json.loads(out)["token"]

    log = tmp_path / "daemon.log"
    with log.open("wb") as err:
        limited = ["prlimit", f"--nofile={FILE_LIMIT}:{FILE_LIMIT}", *EDGE]  # util-linux, as a unit's LimitNOFILE
        proc = subprocess.Popen([*limited, "--config", str(config), "run"], cwd=ROOT, stderr=err)
    ctx = ssl.create_default_context(cafile=str(tls / "ca.crt"))
    url = f"https://127.0.0.1:{port}"
    flood: list[socket.socket] = []
    try:
        with httpx.Client(base_url=url, verify=ctx, timeout=5, headers={"x-device-token": token}) as kiosk:

            def served() -> bool:
                try:
                    return kiosk.get("/api/kiosk/lane-1/basket").status_code == 200
                except httpx.HTTPError:
                    return False

            wait_for(served, 30, "the daemon serving the kiosk")  # the kiosk is known from here on
            for address in ATTACKERS:
                for _ in range(64):  # as many as one address may hold, each handshake left half-sent
                    s = socket.socket()
                    s.setblocking(False)
                    s.bind((address, 0))
                    with contextlib.suppress(BlockingIOError):
                        s.connect(("127.0.0.1", port))
                    flood.append(s)
            time.sleep(0.2)
            for s in flood:
                with contextlib.suppress(OSError):
                    s.send(HELLO)
            latencies = []
            for _ in range(10):  # during the flood: the kiosk's requests still answered, on new connections
                started = time.monotonic()
                with httpx.Client(base_url=url, verify=ctx, timeout=5, headers={"x-device-token": token}) as fresh:
                    assert fresh.get("/api/kiosk/lane-1/basket").status_code == 200
                latencies.append(time.monotonic() - started)
            health = httpx.get(
                f"{url}/healthz", verify=ctx, headers={"authorization": f"Bearer {OPS_TOKEN}"}, timeout=5
            ).json()
            wait_for(
                lambda: (
                    httpx.get(f"{url}/healthz", verify=ctx, headers={"authorization": f"Bearer {OPS_TOKEN}"}).json()[
                        "http"
                    ]["handshakes_timed_out"]
                    > 0
                ),
                10,
                "half-open handshakes cut at the header deadline",
            )
    finally:
        for s in flood:
            s.close()
        proc.terminate()
        proc.wait(20)
    assert max(latencies) < 2.0, latencies
    assert health["status"] == "degraded" and health["http"]["at_ceiling"] is True
    assert health["http"]["refused"].get("ceiling", 0) > 0 and health["http"]["open"] <= health["http"]["ceiling"]
    assert log.stat().st_size < 200_000  # refusals logged once a minute per kind, not per connection
