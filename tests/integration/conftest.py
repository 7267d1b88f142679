"""Fixtures of the integration tests: central's simulators on the test's Mosquitto."""

from __future__ import annotations

from pathlib import Path

import pytest

from sim.central.node import CentralNode
from tests.integration.broker import PASSWORD, Mosquitto


@pytest.fixture
def central(mosquitto: Mosquitto, tmp_path: Path):  # type: ignore[no-untyped-def]
    node = CentralNode(tmp_path / "central.db", port=mosquitto.port, username="central", password=PASSWORD)
    node.start()
    assert node.ready.wait(10)
    yield node
    node.stop()
