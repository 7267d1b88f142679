"""`edge-agent sim crpt` and `edge-agent code check` as an operator runs them."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator

import pytest

from tests.conftest import ROOT, run_cli
from tests.integration.pcscd import free_port_pair

SELLABLE = "0104610053149777215d/wuU<GS>93dGVz"
BLOCKED = "0104653820923088215GoNfWgdcBeVZ<GS>93dGVz"


@pytest.fixture
def crpt() -> Iterator[dict[str, str]]:
    base = free_port_pair(6)
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "edge_agent.cli",
            "sim",
            "crpt",
            "--base-port",
            str(base),
            "--code",
            f"sellable={SELLABLE}",
            "--code",
            f"blocked={BLOCKED}",
        ],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    urls = json.loads(proc.stdout.readline())["crpt_sim"]
    env = {
        "EDGE_AGENT__VERIFY__TS_PIOT_URL": urls["ts_piot"],
        "EDGE_AGENT__VERIFY__TRUE_API_CDN_URL": urls["cdn"],
        "EDGE_AGENT__VERIFY__LOCAL_MODULE_URL": urls["lm"],
    }
    yield env
    proc.terminate()
    proc.wait(10)


def test_code_check_prints_the_verdict_and_exits_by_outcome(crpt: dict[str, str]) -> None:
    ok = run_cli("code", "check", SELLABLE, "--json", env=crpt)
    assert ok.returncode == 0, ok.stderr.decode()
    verdict = json.loads(ok.stdout)
    assert verdict["outcome"] == "ALLOWED" and verdict["source"] == "ts_piot"
    assert verdict["fiscal"]["1260"]["1265"].startswith("UUID=")
    blocked = run_cli("code", "check", BLOCKED, "--json", env=crpt)
    assert blocked.returncode == 1 and json.loads(blocked.stdout)["reasons"][0]["code"] == "BLOCKED"
    offline = run_cli("code", "check", SELLABLE, "--backend", "local", env=crpt)
    assert offline.returncode == 0 and offline.stdout.decode().startswith("ALLOWED via local_module")


def test_true_api_direct_is_refused_after_its_sunset_unless_the_date_is_moved(crpt: dict[str, str]) -> None:
    # ТС ПИоТ only since 1 Mar 2026 (docs/compliance.md): asking True API directly is refused
    refused = run_cli("code", "check", BLOCKED, "--backend", "true_api", "--json", env=crpt)
    assert refused.returncode != 0 and "direct True API calls ended on 2026-03-01" in refused.stderr.decode()
    moved = {**crpt, "EDGE_AGENT__VERIFY__DIRECT_TRUE_API_UNTIL": "2099-01-01"}  # a chain's own agreement
    blocked = run_cli("code", "check", BLOCKED, "--backend", "true_api", "--json", env=moved)
    assert blocked.returncode == 1 and json.loads(blocked.stdout)["reasons"][0]["code"] == "BLOCKED"
    assert json.loads(blocked.stdout)["source"] == "true_api"


def test_nothing_reachable_is_unavailable_with_exit_3() -> None:
    env = {
        "EDGE_AGENT__VERIFY__TS_PIOT_URL": "http://127.0.0.1:9",
        "EDGE_AGENT__VERIFY__LOCAL_MODULE_URL": "http://127.0.0.1:9",
    }
    proc = run_cli("code", "check", SELLABLE, "--json", env=env)
    assert proc.returncode == 3
    assert json.loads(proc.stdout)["reasons"][0]["code"] == "MARKING_CHECK_UNAVAILABLE"


def test_a_bad_code_is_refused_before_any_request() -> None:
    proc = run_cli("code", "check", "0104610053149778215d/wuU<GS>93dGVz", "--json")
    assert proc.returncode == 2 and json.loads(proc.stdout)["error"]["code"] == "gtin_check_digit"
