"""The start check a rollout stops on: `edge-agent health --wait` (the unit's ExecStartPost)
exits 0 once the daemon's readers, registers, store and broker are up, and 1 naming what is not."""

from __future__ import annotations

import json
from pathlib import Path

from edge_agent.cli import EXIT_UNHEALTHY
from tests.conftest import run_cli
from tests.e2e.test_faults import daemon, free_port, llrp_sim, write_config


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
