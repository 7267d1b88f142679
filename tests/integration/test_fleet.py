"""The fleet view: central keeps every agent's retained status and says which stores need
attention. Two real `edge-agent run` processes on a real Mosquitto: one is killed with -9, the
other has a reader that is unplugged; `edge-agent sim central status` names both."""

from __future__ import annotations

import json
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

from sim.central.node import CentralNode
from tests.conftest import ROOT
from tests.integration.broker import PASSWORD, Mosquitto
from tests.integration.pcscd import free_port_pair


def agent_config(path: Path, agent: str, port: int, reader_port: int | None = None) -> Path:
    text = (
        f'[store]\nid = "store-001"\n[agent]\nid = "{agent}"\ndata_dir = "{path.parent / agent}"\n'
        'log_level = "WARNING"\n[http]\nenabled = false\n'
        f'[mqtt]\nport = {port}\nusername = "store-001.{agent}"\npassword = "{PASSWORD}"\n'
    )
    if reader_port is not None:  # a reader nobody answers on: unplugged
        text += f'[[readers]]\nid = "box"\ndriver = "llrp"\nport = {reader_port}\nkeepalive_s = 0.5\n'
    text += f'[[lanes]]\nid = "lane-{agent[-1]}"\n' + ('[[lanes.zones]]\nreader = "box"\n' if reader_port else "")
    path.write_text(text)
    return path


def states(db: Path) -> dict[str, str]:
    with sqlite3.connect(db, timeout=30) as conn:
        return dict(conn.execute("SELECT agent, state FROM agents"))


def wait_for(predicate, what: str, timeout_s: float = 30) -> None:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout_s
    while not predicate():
        assert time.monotonic() < deadline, f"timed out: {what}"
        time.sleep(0.05)


def test_a_dead_store_and_an_unplugged_reader_show_in_the_fleet_view(tmp_path: Path) -> None:
    broker = Mosquitto(tmp_path / "mosquitto").start()
    db = tmp_path / "central.db"
    central = CentralNode(db, port=broker.port, username="central", password=PASSWORD)
    central.start()
    assert central.ready.wait(10)
    run = [sys.executable, "-m", "edge_agent.cli", "--config"]
    agents = {
        a: subprocess.Popen(
            [*run, str(agent_config(tmp_path / f"{a}.toml", a, broker.port, port)), "run"],
            cwd=ROOT,
            stderr=subprocess.DEVNULL,
        )
        for a, port in (("agent-1", None), ("agent-2", free_port_pair(1)))
    }
    try:
        wait_for(lambda: states(db) == {"agent-1": "online", "agent-2": "online"}, "both agents' birth")
        agents["agent-1"].send_signal(signal.SIGKILL)  # the store's server dies
        killed = time.monotonic()
        wait_for(lambda: states(db).get("agent-1") == "offline", "agent-1's Last Will")
        seen_after = time.monotonic() - killed
        agents["agent-2"].send_signal(signal.SIGTERM)  # a clean stop sends the reader's last health
        agents["agent-2"].wait(20)
        status = [sys.executable, "-m", "edge_agent.cli", "sim", "central", "status", "--db", str(db), "--json"]
        view = subprocess.run(status, cwd=ROOT, capture_output=True, text=True, timeout=60, check=False)
    finally:
        for proc in agents.values():
            proc.kill()
            proc.wait(10)
        central.stop()
        broker.kill()
    assert view.returncode == 1, view.stderr  # some store needs attention
    findings = {f["agent"]: f["reasons"] for f in json.loads(view.stdout)["attention"]}
    assert findings["agent-1"] == ["offline: connection lost"] and seen_after < 30  # within one status interval
    assert "offline: stopped" in findings["agent-2"]
    assert any(r.startswith("reader box offline") for r in findings["agent-2"])
