"""`kill -9` of the daemon at random instants while a box is being read, 50 times, then a
restart: the basket is there, every item in the box is in it exactly once."""

from __future__ import annotations

import json
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from tests.conftest import ROOT


def test_daemon_killed_at_random_instants_restores_the_basket_exactly(tmp_path: Path) -> None:
    sim = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "edge_agent.cli",
            "sim",
            "llrp",
            "--port",
            "0",
            "--tags",
            "12",
            "--antennas",
            "2",
            "--seed",
            "7",
            "--reads-per-s",
            "800",
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert sim.stdout is not None
        port = int(sim.stdout.readline().split("127.0.0.1:")[1].split()[0])
        config = tmp_path / "edge-agent.toml"
        config.write_text(
            f'[agent]\ndata_dir = "{tmp_path / "var"}"\nlog_level = "WARNING"\n'
            "[mqtt]\nenabled = false\n[http]\nenabled = false\n"
            '[verify]\nlocal_module_url = "http://127.0.0.1:9"\nts_piot_url = "http://127.0.0.1:9"\n'
            f'[[readers]]\nid = "box-1"\ndriver = "llrp"\nport = {port}\n'
            '[[lanes]]\nid = "lane-1"\nmode = "box"\nsettle_s = 0.3\ndepart_after_s = 30\n'
            '[[lanes.zones]]\nreader = "box-1"\n'
        )
        cmd = [sys.executable, "-m", "edge_agent.cli", "--config", str(config), "run"]
        rng = random.Random(20261123)
        killed_running = 0
        for _ in range(50):
            daemon = subprocess.Popen(cmd, cwd=ROOT, stderr=subprocess.DEVNULL)
            time.sleep(rng.uniform(0.4, 2.0))  # during start-up, mid-inventory, mid-write
            daemon.send_signal(signal.SIGKILL)
            daemon.wait(10)
            killed_running += daemon.returncode == -signal.SIGKILL
        assert killed_running == 50

        daemon = subprocess.Popen(cmd, cwd=ROOT, stderr=subprocess.DEVNULL)
        time.sleep(4.0)  # start, reconnect to the reader, re-read the box
        daemon.send_signal(signal.SIGTERM)
        assert daemon.wait(20) == 0  # graceful stop

        db = sqlite3.connect(tmp_path / "var" / "edge-agent.db")
        baskets = db.execute("SELECT id FROM baskets WHERE state NOT IN ('CLOSED', 'CANCELLED')").fetchall()
        assert len(baskets) == 1, baskets  # every restart carried on with the same basket
        (basket_id,) = baskets[0]
        adds = [
            json.loads(a)
            for (a,) in db.execute(
                "SELECT args FROM journal WHERE basket_id = ? AND op = 'add' ORDER BY seq", (basket_id,)
            )
        ]
        kis = [a["ki"] for a in adds]
        assert len(kis) == 12 == len(set(kis))  # each of the 12 items exactly once: none lost, none doubled
        journal = db.execute("SELECT basket_id, seq FROM journal").fetchall()
        outbox = db.execute("SELECT basket_id, journal_seq FROM outbox WHERE journal_seq > 0").fetchall()
        assert sorted(journal) == sorted(outbox)  # everything journaled was announced once, and only that
    finally:
        sim.terminate()
        sim.wait(10)
