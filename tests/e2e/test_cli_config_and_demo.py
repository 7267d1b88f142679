"""Configuration errors as an operator meets them, and the demo's first words."""

from __future__ import annotations

import json
from pathlib import Path

from tests.conftest import ROOT, run_cli
from tests.e2e.demo_store import open_for_alcohol


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


def test_broker_acl_for_central_names_each_stores_bridge_and_batches_stay_within_their_lanes() -> None:
    plain = run_cli("broker", "acl", "--agent", "store-007/agent-1=lane-1,lane-2")
    central = run_cli("broker", "acl", "--agent", "store-007/agent-1=lane-1,lane-2", "--bridges")
    assert plain.returncode == central.returncode == 0, central.stderr.decode()
    agent = plain.stdout.decode().split("user store-007.agent-1\n")[1].split("\n\n")[0].splitlines()
    # the lane filter covers that lane's batch topic (…/lane-1/evt/batch) and nothing of another store
    assert {"topic write sco/v1/store-007/lane-1/evt/#", "topic write sco/v1/store-007/lane-2/evt/#"} <= set(agent)
    assert "store-007.bridge" not in plain.stdout.decode()
    bridge = central.stdout.decode().split("user store-007.bridge\n")[1].split("\n\n")[0].splitlines()
    assert "topic write sco/v1/store-007/+/evt/#" in bridge and "topic read sco/v1/store-007/+/resp" in bridge
    assert not any(line.startswith("topic") and "store-007" not in line for line in bridge)


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
    proc = run_cli(
        "demo",
        "--headless",
        "--shoppers",
        "8",
        "--seed",
        "3",
        "--json",
        env={"EDGE_AGENT__AGENT__DATA_DIR": str(tmp_path), "EDGE_AGENT__STORE__TIMEZONE": open_for_alcohol()},
    )
    assert proc.returncode == 0, proc.stderr.decode()[-3000:] + proc.stdout.decode()[-2000:]
    summary = json.loads(proc.stdout.decode().splitlines()[-1])
    assert summary["invariants_ok"] is True and all(summary["checks"].values())
    assert summary["baskets_paid"] + summary["baskets_cancelled"] == 8 and summary["baskets_paid"] >= 6
    assert summary["central"]["transactions_posted"] == summary["baskets_paid"]
    assert summary["payments"]["double_captures"] == 0 and summary["loyalty_ledger_balanced"] is True
    assert summary["verdicts"]["blocked"] >= 1  # shopper 1 brings a counterfeit
    assert summary["latency_ms"]["tag_to_basket_p99"] <= 100
    # the law of 2026 at the lane: an age proved by the digital ID, a weighed cheese, three of a
    # pack of yogurt, and a bottle of vodka through the store's УТМ, one cheque for its sale
    assert summary["age_by_digital_id"] >= 1 and summary["weighed_lines"] >= 1 and summary["part_lines"] >= 1
    assert summary["egais_cheques"] >= 1 and summary["checks"]["one_egais_cheque_per_stamped_sale"] is True
    # the manager's dashboard, computed from the same store, tells the same story
    from zoneinfo import ZoneInfo

    from edge_agent.dashboard import charts, figures
    from edge_agent.dashboard.records import baskets_since
    from edge_agent.repositories import open_repositories

    store = open_repositories(tmp_path / "demo" / "edge-agent.db", tz=ZoneInfo("Europe/Moscow"))
    f = figures(*baskets_since(store.db, 0), ZoneInfo("Europe/Moscow"))
    assert (f["baskets_paid"], f["baskets_cancelled"]) == (summary["baskets_paid"], summary["baskets_cancelled"])
    assert {k.lower(): v for k, v in f["verdicts"].items()} == {k: v for k, v in summary["verdicts"].items() if v}
    for code, n in summary["problems"].items():  # what the shoppers met at the box (declines come later)
        assert f["interventions"].get(code) == n, (code, f["interventions"])
    assert sum(h["sales"] for h in f["per_hour"].values()) == summary["baskets_paid"]
    assert f["time_to_resolve_s"]["n"] >= 1 and 0 < f["share_without_intervention"] < 1
    assert all(svg.startswith("<svg") and "</svg>" in svg for svg in charts(f).values())


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
    assert readers[0] == {
        "id": "box-1",
        "driver": "llrp",
        "role": "customer",
        "host": "10.0.0.5",
        "port": 5084,
        "read_tid_words": 0,
        "read_user_words": 0,
        "keepalive_s": 1.0,
        "profile": "generic",
        "antennas": [],
        "session": None,
        "search_mode": "reader_selected",
    }
    assert readers[1]["baudrate"] == 115200 and readers[1]["line_ending"] == "CRLF"
    wrong = tmp_path / "wrong.toml"
    wrong.write_text('[[readers]]\nid = "scan-1"\ndriver = "scanner"\nread_tid_words = 2\nbaud = 9600\n')
    proc = run_cli("--config", str(wrong), "config", "check")
    assert proc.returncode == 2 and "readers.0.baud: unknown key" in proc.stderr.decode()


def _production(tmp_path: Path, mqtt_password: str) -> tuple[Path, dict[str, str]]:
    """The production example, with a PIN hash of its own and its secrets in a credentials directory."""
    text = (ROOT / "config" / "production.example.toml").read_text()
    example = text.split('pin_hash = "')[1].split('"')[0]
    hashed = run_cli("staff", "hash-pin", "--stdin", stdin=b"80417\n")
    assert hashed.returncode == 0 and hashed.stdout.startswith(b"scrypt$16384$8$1$")
    config = tmp_path / "prod.toml"
    config.write_text(text.replace(example, hashed.stdout.decode().strip()))
    creds = tmp_path / "credentials"
    creds.mkdir()
    for name, value in (
        ("mqtt-password", mqtt_password),
        ("local-module-password", "lm-S3cret"),
        ("ops-token", "Zq8-ops-token"),
    ):
        (creds / name).write_text(value)
    return config, {"CREDENTIALS_DIRECTORY": str(creds)}


def test_a_production_daemon_refuses_a_placeholder_secret_naming_the_key(tmp_path: Path) -> None:
    config, env = _production(tmp_path, "change-me")
    proc = run_cli("--config", str(config), "run", env=env)
    assert proc.returncode == 2
    err = proc.stderr.decode()
    assert "mqtt.password" in err and "placeholder" in err and "change-me" not in err


def test_config_check_masks_every_secret(tmp_path: Path) -> None:
    config, env = _production(tmp_path, "a-real-Broker-pass")
    proc = run_cli("--config", str(config), "config", "check", env=env)
    assert proc.returncode == 0, proc.stderr.decode()
    shown = json.loads(proc.stdout)
    assert shown["mqtt"]["password"] == shown["http"]["ops_token"] == shown["staff"][0]["pin_hash"] == "***"
    for secret in (b"a-real-Broker-pass", b"lm-S3cret", b"Zq8-ops-token", b"scrypt$"):
        assert secret not in proc.stdout


def test_devices_are_provisioned_listed_and_revoked_from_the_cli(tmp_path: Path) -> None:
    config = tmp_path / "c.toml"
    config.write_text(f'[agent]\ndata_dir = "{tmp_path / "var"}"\n[[lanes]]\nid = "lane-1"\n')
    made = run_cli("--config", str(config), "device", "provision", "kiosk", "lane-1", "--json")
    assert made.returncode == 0, made.stderr.decode()
    link = json.loads(made.stdout)
    assert link["device"] == "kiosk-lane-1" and "/enrol/" in link["enrol_url"] and "token" not in link
    assert run_cli("--config", str(config), "device", "provision", "kiosk", "lane-9").returncode == 2  # no lane
    listed = [json.loads(line) for line in run_cli("--config", str(config), "device", "list").stdout.splitlines()]
    assert [(d["name"], d["lane"], d["revoked_at"]) for d in listed] == [("kiosk-lane-1", "lane-1", None)]
    assert run_cli("--config", str(config), "device", "revoke", "kiosk-lane-1").returncode == 0
    assert run_cli("--config", str(config), "device", "revoke", "kiosk-lane-1").returncode == 2  # already


def test_a_database_from_a_newer_version_is_refused_with_its_writer_named(tmp_path: Path) -> None:
    # a downgrade: the package of an older version installed over a store a newer one migrated
    import sqlite3

    from edge_agent.cli import EXIT_NEWER_DATABASE
    from edge_agent.db.migrations import MIGRATIONS

    db = sqlite3.connect(tmp_path / "edge-agent.db")
    db.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)")
    db.execute("INSERT INTO meta VALUES ('written_by', '9.9.9')")
    db.execute(f"PRAGMA user_version = {len(MIGRATIONS) + 1}")
    db.commit()
    db.close()
    proc = run_cli("run", env={"EDGE_AGENT__AGENT__DATA_DIR": str(tmp_path), "EDGE_AGENT__HTTP__ENABLED": "false"})
    assert proc.returncode == EXIT_NEWER_DATABASE == 65
    err = proc.stderr.decode()
    assert "edge-agent 9.9.9" in err and f"schema {len(MIGRATIONS) + 1}" in err and "will not start" in err
    version = run_cli("--version").stdout.decode().split()[-1]
    assert f"edge-agent {version} will not start" in err
    # untouched: the newer version can still open it
    kept = sqlite3.connect(tmp_path / "edge-agent.db").execute("PRAGMA user_version").fetchone()[0]
    assert kept == len(MIGRATIONS) + 1
