"""The fuzz targets in `make test`: every seed and every input the fuzzer ever found is replayed
(each found one was a bug: it stays fixed), and a short coverage-guided run of every target."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import ROOT
from tests.fuzz.targets import SEEDS, TARGETS

REGRESSIONS = Path(__file__).resolve().parent / "regressions"
FOUND = sorted(REGRESSIONS.glob("*/*"))


@pytest.mark.parametrize("target", sorted(TARGETS))
def test_every_seed_is_taken_without_an_unexpected_exception(target: str) -> None:
    for seed in SEEDS[target]:
        TARGETS[target](seed)


@pytest.mark.parametrize("found", FOUND, ids=[f"{p.parent.name}/{p.name[:18]}" for p in FOUND])
def test_every_input_the_fuzzer_once_broke_us_with_is_handled_now(found: Path) -> None:
    TARGETS[found.parent.name](found.read_bytes())


def test_a_short_fuzzing_run_of_every_target_finds_nothing() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "tests.fuzz.run", "--runs-per-target", "3000", "--no-keep"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    lines = [json.loads(line) for line in proc.stdout.splitlines()]
    assert proc.returncode == 0, lines
    total = lines[-1]
    assert total["targets"] == len(TARGETS) and total["inputs"] >= 3000 * len(TARGETS)
    assert total["unexpected_exceptions"] == 0
