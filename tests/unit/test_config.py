"""Configuration loading: defaults, overrides and the errors' wording (pure, no subprocess)."""

from __future__ import annotations

from pathlib import Path

import pytest

from edge_agent.config import ConfigError, load
from tests.conftest import ROOT

DEMO = ROOT / "config" / "edge-agent.toml"


def _credentials(tmp_path: Path, **secrets: str) -> dict[str, str]:
    """A systemd credentials directory with the production example's secret files."""
    tmp_path.mkdir(parents=True, exist_ok=True)
    files = {"mqtt-password": "s3cret-broker-pass", "local-module-password": "lm-Pa55-word", "ops-token": "t0ken-ops-1"}
    for name, value in (files | secrets).items():
        (tmp_path / name).write_text(value + "\n")
    return {"CREDENTIALS_DIRECTORY": str(tmp_path)}


def _own_pin(tmp_path: Path, drop: str = "") -> Path:
    """The production example with a PIN hash of its own (and ``drop``'s lines left out)."""
    from edge_agent.security.pins import hash_pin

    text = (ROOT / "config" / "production.example.toml").read_text()
    example = text.split('pin_hash = "')[1].split('"')[0]
    text = "\n".join(
        line
        for line in text.replace(example, hash_pin("80417", n=2**12)).splitlines()
        if not (drop and line.startswith(drop))
    )
    (tmp_path / "prod.toml").write_text(text)
    return tmp_path / "prod.toml"


def test_demo_and_production_example_files_are_valid(tmp_path: Path) -> None:
    assert load(DEMO, env={}).verify.online_timeout_s == 1.5
    env = _credentials(tmp_path / "creds")
    with pytest.raises(ConfigError) as info:  # the example's PIN hash is the example's: refused in production
        load(ROOT / "config" / "production.example.toml", env=env)
    assert info.value.key == "staff.0.pin_hash"
    prod = load(_own_pin(tmp_path), env=env)
    assert prod.mqtt.username == "store-0042.sco-1" and prod.mqtt.broker == "external"
    assert prod.mqtt.password == "s3cret-broker-pass" and prod.http.ops_token == "t0ken-ops-1"  # from the files
    assert load(DEMO, env={}).mqtt.broker == "embedded"


def test_production_refuses_placeholder_secrets_naming_the_key(tmp_path: Path) -> None:
    config = _own_pin(tmp_path)
    for file, value, key in (
        ("mqtt-password", "change-me", "mqtt.password"),
        ("ops-token", "", "http.ops_token"),
        ("local-module-password", "admin", "verify.local_module_password"),
    ):
        with pytest.raises(ConfigError) as info:
            load(config, env=_credentials(tmp_path / key, **{file: value}))
        assert info.value.key == key, info.value
    with pytest.raises(ConfigError) as info:  # the store network without TLS
        load(_own_pin(tmp_path, drop="tls_"), env=_credentials(tmp_path / "ok"))
    assert info.value.key == "http.tls_cert"


def test_an_unsalted_pin_hash_is_refused_with_the_way_out(tmp_path: Path) -> None:
    (tmp_path / "c.toml").write_text('[[staff]]\nid = "s-1"\nname = "A"\npin_sha256 = "' + "0" * 64 + '"\n')
    with pytest.raises(ConfigError, match="edge-agent staff hash-pin") as info:
        load(tmp_path / "c.toml", env={})
    assert info.value.key == "staff.0"


def test_the_embedded_broker_binds_loopback_only(tmp_path: Path) -> None:
    (tmp_path / "c.toml").write_text('[mqtt]\nbroker = "embedded"\nhost = "0.0.0.0"\n')
    with pytest.raises(ConfigError, match="loopback only"):
        load(tmp_path / "c.toml", env={})


def test_override_values_are_typed_as_toml() -> None:
    config = load(DEMO, env={"EDGE_AGENT__VERIFY__ONLINE_TIMEOUT_S": "0.8", "EDGE_AGENT__AGENT__ID": "sco-7"})
    assert config.verify.online_timeout_s == 0.8
    assert config.agent.id == "sco-7"


def test_online_wait_above_the_legal_1_5_s_is_refused() -> None:
    with pytest.raises(ConfigError) as info:
        load(DEMO, env={"EDGE_AGENT__VERIFY__ONLINE_TIMEOUT_S": "3"})
    assert info.value.key == "verify.online_timeout_s"
    assert info.value.where == "EDGE_AGENT__VERIFY__ONLINE_TIMEOUT_S"


def test_malformed_override_name_is_refused() -> None:
    with pytest.raises(ConfigError, match="EDGE_AGENT__<SECTION>__<KEY>"):
        load(DEMO, env={"EDGE_AGENT__PORT": "1"})


def test_unknown_section_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "c.toml"
    path.write_text("[mqt]\nport = 1\n")
    with pytest.raises(ConfigError) as info:
        load(path, env={})
    assert (info.value.key, info.value.reason) == ("mqt", "unknown key")
