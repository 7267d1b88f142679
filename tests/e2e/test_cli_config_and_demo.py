"""Configuration errors as an operator meets them, and the demo's first words."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import ROOT, run_cli


def test_config_check_prints_the_effective_configuration_with_env_override() -> None:
    proc = run_cli("config", "check", env={"EDGE_AGENT__MQTT__PORT": "1884", "EDGE_AGENT__STORE__NAME": "Lane test"})
    assert proc.returncode == 0, proc.stderr.decode()
    config = json.loads(proc.stdout)
    assert config["mqtt"]["port"] == 1884
    assert config["store"]["name"] == "Lane test"
    assert config["store"]["id"] == "store-001"  # from config/edge-agent.toml


def test_bad_key_in_file_is_named_with_reason_and_exits_2(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text((ROOT / "config" / "edge-agent.toml").read_text().replace("port = 1883", "port = 70000"))
    proc = run_cli("--config", str(bad), "config", "check")
    assert proc.returncode == 2
    err = proc.stderr.decode()
    assert str(bad) in err and "mqtt.port" in err and "65535" in err


def test_unknown_key_is_refused_not_ignored(tmp_path: Path) -> None:
    bad = tmp_path / "typo.toml"
    bad.write_text("[mqtt]\nprot = 1884\n")
    proc = run_cli("--config", str(bad), "config", "check")
    assert proc.returncode == 2
    assert "mqtt.prot: unknown key" in proc.stderr.decode()


def test_bad_environment_override_names_the_variable() -> None:
    proc = run_cli("config", "check", env={"EDGE_AGENT__STORE__TIMEZONE": "Mars/Olympus"})
    assert proc.returncode == 2
    err = proc.stderr.decode()
    assert "EDGE_AGENT__STORE__TIMEZONE" in err and "unknown time zone" in err


def test_missing_and_malformed_files_exit_2(tmp_path: Path) -> None:
    missing = run_cli("config", "check", env={"EDGE_AGENT_CONFIG": str(tmp_path / "none.toml")})
    assert missing.returncode == 2 and "file not found" in missing.stderr.decode()
    broken = tmp_path / "broken.toml"
    broken.write_text("[mqtt\nport = 1\n")
    proc = run_cli("--config", str(broken), "config", "check")
    assert proc.returncode == 2 and "not valid TOML" in proc.stderr.decode()


def test_demo_says_what_it_runs_and_that_all_carriers_agree() -> None:
    proc = run_cli("demo")
    assert proc.returncode == 0, proc.stderr.decode()
    out = proc.stdout.decode()
    assert "store store-001" in out
    assert "all three resolve to the same КИ: yes" in out
    assert "every item and the stray were seen: yes" in out
    assert "Not built yet" in out
