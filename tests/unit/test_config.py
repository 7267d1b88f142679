"""Configuration loading: defaults, overrides and the errors' wording (pure, no subprocess)."""

from __future__ import annotations

from pathlib import Path

import pytest

from edge_agent.config import ConfigError, load
from tests.conftest import ROOT

DEMO = ROOT / "config" / "edge-agent.toml"


def test_demo_and_production_example_files_are_valid() -> None:
    assert load(DEMO, env={}).verify.online_timeout_s == 1.5
    prod = load(ROOT / "config" / "production.example.toml", env={})
    assert prod.mqtt.username == "store-0042.sco-1" and prod.mqtt.broker == "external"
    assert load(DEMO, env={}).mqtt.broker == "embedded"


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
