"""Shared test fixtures: where the vectors are, and how to run the CLI as a user does."""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import settings

ROOT = Path(__file__).resolve().parent.parent
_COPY = ROOT / "tests" / "data" / "vectors"
_SHARED = ROOT.parent / "shared" / "vectors"


def _vectors_dir() -> Path:
    """The shared vectors when this checkout sits beside shared/, else the in-repo copy.

    When both exist they must be identical: a stale copy fails the run loudly.
    """
    if (_SHARED / "markcodes.json").exists():
        for shared in [_SHARED / "markcodes.json", *sorted((_SHARED / "llrp").glob("*"))]:
            copy = _COPY / shared.relative_to(_SHARED)
            if not copy.exists() or copy.read_bytes() != shared.read_bytes():
                raise RuntimeError(f"{copy} differs from shared/vectors: copy the vectors again")
        return _SHARED
    return _COPY


# the packages on a fresh Debian root take minutes of building and debootstrap: their own target,
# `make package-test` (run by .ci/run after `make test`), not the suite's
collect_ignore = [] if os.environ.get("EDGE_AGENT_PACKAGE_TEST") else ["package"]

VECTORS = _vectors_dir()
MARKCODE_VECTORS: list[dict[str, Any]] = json.loads((VECTORS / "markcodes.json").read_text(encoding="utf-8"))

# Property tests: `make test` runs the thorough profile (over 100,000 generated inputs in all).
settings.register_profile("thorough", deadline=None, print_blob=True)
settings.register_profile("quick", deadline=None, max_examples=200)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "thorough"))
QUICK = os.environ.get("HYPOTHESIS_PROFILE") == "quick"


def examples(n: int) -> int:
    """How many examples a property runs: ``n``, or a few hundred in the quick profile."""
    return 200 if QUICK else n


def run_cli(
    *args: str, stdin: bytes | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[bytes]:
    """``edge-agent ARGS`` in a subprocess, exactly as a user runs it."""
    exe = Path(sys.executable).parent / "edge-agent"
    cmd = [str(exe)] if exe.exists() else [sys.executable, "-m", "edge_agent.cli"]
    full_env = {**os.environ, **(env or {})}
    return subprocess.run(
        [*cmd, *args], input=stdin, capture_output=True, cwd=ROOT, env=full_env, timeout=60, check=False
    )


@pytest.fixture
def cli() -> Any:
    return run_cli


async def until(check: Callable[[], bool], timeout: float = 10.0) -> None:
    """Wait until ``check()`` holds; fail the test if it does not within ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError("condition not reached in time")
        await asyncio.sleep(0.02)


@pytest.fixture
def mosquitto(tmp_path: Path):  # type: ignore[no-untyped-def]
    """A real Mosquitto with persistence, passwords, the generated ACL and TLS (see broker.py)."""
    from tests.integration.broker import Mosquitto

    broker = Mosquitto(tmp_path / "mosquitto").start()
    yield broker
    broker.kill()
