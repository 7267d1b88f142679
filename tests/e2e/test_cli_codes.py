"""`edge-agent code ...` exactly as a user (or a field engineer's script) runs it."""

from __future__ import annotations

import json
from typing import Any

import pytest

from edge_agent import __version__
from tests.conftest import MARKCODE_VECTORS, run_cli


def _matches(result: dict[str, Any], expect: dict[str, Any]) -> list[str]:
    """The keys of a shared vector's ``expect`` that the CLI output does not satisfy."""
    wrong = []
    for key, want in expect.items():
        if key == "candidate_groups_include":
            if not set(want) <= set(result.get("candidate_groups", [])):
                wrong.append(f"{key}: {result.get('candidate_groups')} lacks some of {want}")
        elif key == "error_code":
            if result.get("error", {}).get("code") != want:
                wrong.append(f"error code {result.get('error')} != {want}")
        elif result.get(key) != want:
            wrong.append(f"{key}: {result.get(key)!r} != {want!r}")
    return wrong


@pytest.mark.parametrize("vector", MARKCODE_VECTORS, ids=[v["name"] for v in MARKCODE_VECTORS])
def test_shared_vector_through_the_cli(vector: dict[str, Any]) -> None:
    proc = run_cli("code", "parse", vector["input"], "--json")
    lines = proc.stdout.decode().splitlines()
    assert len(lines) == 1, proc.stderr.decode()
    result = json.loads(lines[0])
    assert _matches(result, vector["expect"]) == []
    if vector["expect"]["ok"]:
        assert proc.returncode == 0
    else:
        assert proc.returncode == 2
        assert result["ok"] is False
        assert result["error"]["code"] and result["error"]["message"]
        assert isinstance(result["error"]["position"], int)


def test_stdin_mode_answers_every_line_in_order_and_exits_2_if_any_was_bad() -> None:
    # one line per vector; a vector whose input has a newline could not be one line
    vectors = [v for v in MARKCODE_VECTORS if "\n" not in v["input"]]
    stdin = "".join(v["input"] + "\n" for v in vectors).encode()
    proc = run_cli("code", "parse", "-", "--json", stdin=stdin)
    results = [json.loads(line) for line in proc.stdout.decode().splitlines()]
    assert len(results) == len(vectors)
    for vector, result in zip(vectors, results, strict=True):
        assert _matches(result, vector["expect"]) == [], vector["name"]
    assert proc.returncode == 2


def test_stdin_mode_with_only_good_codes_exits_0_and_reads_crlf_and_raw_fnc1() -> None:
    stdin = b"]d2\xe80104610053149777215d/wuU\x1d93dGVz\r\n3034257BF7194E4000003039\r\n"
    proc = run_cli("code", "parse", "-", "--json", stdin=stdin)
    results = [json.loads(line) for line in proc.stdout.decode().splitlines()]
    assert [r["ki"] for r in results] == ["0104610053149777215d/wuU", "01806141411234582112345"]
    assert proc.returncode == 0


def test_human_output_names_the_fields_and_errors_say_where() -> None:
    good = run_cli("code", "parse", "0104610053149777215d/wuU<GS>93dGVz")
    assert good.returncode == 0
    assert "ki:               0104610053149777215d/wuU" in good.stdout.decode()
    bad = run_cli("code", "parse", "0104610053149778215d/wuU<GS>93dGVz")
    assert bad.returncode == 2
    assert bad.stdout.decode().startswith("error gtin_check_digit at 15:")


def test_epc_and_link_commands_round_trip_through_parse() -> None:
    gtin, serial = "04653820923088", "5GoNfWgdcBeVZ"
    hex_ = run_cli("code", "epc", "--gtin", gtin, "--serial", serial, "--company-prefix-length", "7")
    assert hex_.returncode == 0
    item = json.loads(run_cli("code", "parse", hex_.stdout.decode().strip(), "--json").stdout)
    assert item["ki"] == "0104653820923088215GoNfWgdcBeVZ"
    link = run_cli("code", "link", "0104653820923088215GoNfWgdcBeVZ\\x1d93dGVz", "--base", "https://id.example")
    assert link.stdout.decode().strip() == "https://id.example/01/04653820923088/21/5GoNfWgdcBeVZ?93=dGVz"


def test_epc_command_refuses_a_serial_that_does_not_fit() -> None:
    proc = run_cli(
        "code",
        "epc",
        "--gtin",
        "04653820923088",
        "--serial",
        "5GoN",
        "--company-prefix-length",
        "7",
        "--scheme",
        "sgtin-96",
    )
    assert proc.returncode == 2
    assert json.loads(proc.stdout)["error"]["code"] == "invalid_epc"


def test_version() -> None:
    proc = run_cli("--version")
    assert proc.returncode == 0
    assert proc.stdout.decode().strip() == f"edge-agent {__version__}"
