"""Fixtures of the end-to-end tests."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

from tests.e2e.browser import chromium
from tests.e2e.demo_store import RunningStore


@pytest.fixture(scope="module")
def browser(shop: RunningStore) -> Iterator[Any]:
    """Chromium for the module's demo store (each browser test module defines its ``shop``)."""
    with chromium(shop) as b:
        yield b
