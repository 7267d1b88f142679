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


def test_headless_demo_runs_shoppers_and_proves_its_invariants(tmp_path: Path) -> None:
    """`edge-agent demo --headless`: automated shoppers through the real protocol paths; the
    summary is the last line, and the exit code is 0 only when the invariants hold."""
    proc = run_cli("demo", "--headless", "--shoppers", "8", "--seed", "3", "--json",
                   env={"EDGE_AGENT__AGENT__DATA_DIR": str(tmp_path)})  # fmt: skip
    assert proc.returncode == 0, proc.stderr.decode()[-3000:] + proc.stdout.decode()[-2000:]
    summary = json.loads(proc.stdout.decode().splitlines()[-1])
    assert summary["invariants_ok"] is True and all(summary["checks"].values())
    assert summary["baskets_paid"] + summary["baskets_cancelled"] == 8 and summary["baskets_paid"] >= 6
    assert summary["central"]["transactions_posted"] == summary["baskets_paid"]
    assert summary["payments"]["double_captures"] == 0 and summary["loyalty_ledger_balanced"] is True
    assert summary["verdicts"]["blocked"] >= 1  # shopper 1 brings a counterfeit
    assert summary["latency_ms"]["tag_to_basket_p99"] <= 100


def test_an_unknown_reader_driver_is_a_config_error_naming_the_drivers_there_are(tmp_path: Path) -> None:
    bad = tmp_path / "driver.toml"
    bad.write_text('[[readers]]\nid = "gate-1"\ndriver = "impinj"\n')
    proc = run_cli("--config", str(bad), "config", "check")
    assert proc.returncode == 2
    err = proc.stderr.decode()
    assert "readers.0.driver: unknown driver 'impinj'" in err and "llrp, pcsc, nfc, scanner" in err


def test_each_driver_has_its_own_keys_and_old_generic_keys_still_load(tmp_path: Path) -> None:
    good = tmp_path / "readers.toml"
    good.write_text(
        '[[readers]]\nid = "box-1"\ndriver = "llrp"\nhost = "10.0.0.5"\npath = ""\n'  # `path` meant nothing for LLRP
        '[[readers]]\nid = "scan-1"\ndriver = "scanner"\npath = "/dev/ttyACM0"\nbaudrate = 115200\n'
        'line_ending = "CRLF"\n'
    )
    proc = run_cli("--config", str(good), "config", "check")
    assert proc.returncode == 0, proc.stderr.decode()
    readers = json.loads(proc.stdout)["readers"]
    assert readers[0] == {"id": "box-1", "driver": "llrp", "role": "customer", "host": "10.0.0.5", "port": 5084,
                          "read_tid_words": 0,
                          "read_user_words": 0, "keepalive_s": 1.0}  # fmt: skip
    assert readers[1]["baudrate"] == 115200 and readers[1]["line_ending"] == "CRLF"
    wrong = tmp_path / "wrong.toml"
    wrong.write_text('[[readers]]\nid = "scan-1"\ndriver = "scanner"\nread_tid_words = 2\nbaud = 9600\n')
    proc = run_cli("--config", str(wrong), "config", "check")
    assert proc.returncode == 2 and "readers.0.baud: unknown key" in proc.stderr.decode()
