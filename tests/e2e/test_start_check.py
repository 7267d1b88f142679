"""The start check a rollout stops on: `edge-agent health --wait` (the unit's ExecStartPost)
exits 0 once the daemon's readers, registers, store and broker are up, and 1 naming what is not."""

from __future__ import annotations

import json
import socket
import time
from pathlib import Path

import httpx

from edge_agent.health_cli import EXIT_UNHEALTHY
from tests.conftest import run_cli
from tests.e2e.test_faults import daemon, free_port, llrp_sim, wait_for, write_config


def test_the_start_check_passes_with_the_reader_up_and_names_it_when_down(tmp_path: Path) -> None:
    reader_port, http_port = free_port(), free_port()
    config = write_config(tmp_path / "edge-agent.toml", tmp_path / "var", reader_port, http_port, devices=False)
    with daemon(config):
        down = run_cli("--config", str(config), "health", "--wait", "3")
        assert down.returncode == EXIT_UNHEALTHY == 1
        verdict = json.loads(down.stdout)
        assert verdict["ok"] is False and set(verdict["failing"]) == {"reader:box-1"}
        assert "reader:box-1" in down.stderr.decode()
        with llrp_sim(reader_port):
            up = run_cli("--config", str(config), "health", "--wait", "30")
            assert up.returncode == 0, up.stderr
            assert json.loads(up.stdout) == {"ok": True, "version": verdict["version"], "failing": {}}


def test_the_start_check_fails_when_the_daemon_does_not_answer(tmp_path: Path) -> None:
    config = write_config(tmp_path / "edge-agent.toml", tmp_path / "var", free_port(), free_port(), devices=False)
    done = run_cli("--config", str(config), "health", "--wait", "1")
    assert done.returncode == EXIT_UNHEALTHY
    assert set(json.loads(done.stdout)["failing"]) == {"http"}


def test_a_failed_start_is_in_the_retained_status_for_the_fleet(tmp_path: Path) -> None:
    # the reader is not there: HEALTH_GRACE_S after start the daemon says so to central
    import paho.mqtt.client as mqtt

    from edge_agent.daemon import HEALTH_GRACE_S

    broker, http_port = free_port(), free_port()
    config = tmp_path / "edge-agent.toml"
    config.write_text(
        f'[store]\nid = "s-start"\n[agent]\nid = "sco-9"\ndata_dir = "{tmp_path / "var"}"\nlog_level = "WARNING"\n'
        f'[mqtt]\nbroker = "embedded"\nprotocol = "3.1.1"\nhost = "127.0.0.1"\nport = {broker}\n'
        f'[http]\nport = {http_port}\nops_token = "start-ops"\n'
        '[verify]\nlocal_module_url = "http://127.0.0.1:9"\nts_piot_url = "http://127.0.0.1:9"\n'
        f'[[readers]]\nid = "box-1"\ndriver = "llrp"\nport = {free_port()}\n'
        '[[lanes]]\nid = "lane-1"\nmode = "box"\n[[lanes.zones]]\nreader = "box-1"\n'
    )
    statuses: list[dict[str, object]] = []
    client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, protocol=mqtt.MQTTv311)
    client.on_connect = lambda c, *_: c.subscribe("sco/v1/s-start/sco-9/status", qos=1)
    client.on_message = lambda c, u, msg: statuses.append(json.loads(msg.payload)["data"])
    with daemon(config):
        started = time.monotonic()
        wait_for(lambda: _listening(broker), what="the embedded broker")
        client.connect("127.0.0.1", broker)
        client.loop_start()
        try:
            wait_for(lambda: any("start" in s for s in statuses), timeout=HEALTH_GRACE_S + 20, what="start verdict")
        finally:
            client.loop_stop()
        assert time.monotonic() - started >= HEALTH_GRACE_S - 1  # judged after the grace, not while connecting
        verdict = next(s["start"] for s in statuses if "start" in s)
        assert isinstance(verdict, dict) and verdict["ok"] is False and list(verdict["failing"]) == ["reader:box-1"]
        metrics = httpx.get(
            f"http://127.0.0.1:{http_port}/metrics", headers={"authorization": "Bearer start-ops"}, timeout=5
        ).text
        assert "edge_agent_start_ok 0.0" in metrics


def _listening(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0
