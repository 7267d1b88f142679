"""`edge-agent llrp decode` and `edge-agent sim llrp` as a field engineer runs them."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path

from drivers.base import HealthState
from drivers.llrp import LLRPReader
from edge_agent.llrp import Message, decode_body, encode_message
from tests.conftest import ROOT, VECTORS, run_cli

REPORT = VECTORS / "llrp" / "ROAccessReport-001.bytes"


def test_decode_a_binary_capture_prints_one_object_per_message(tmp_path: Path) -> None:
    capture = tmp_path / "capture.bin"
    body = decode_body(61, REPORT.read_bytes())
    capture.write_bytes(encode_message(Message("RO_ACCESS_REPORT", 7, body)) + encode_message(Message("KEEPALIVE", 8)))
    proc = run_cli("llrp", "decode", str(capture))
    assert proc.returncode == 0, proc.stderr.decode()
    first, second = (json.loads(line) for line in proc.stdout.decode().splitlines())
    assert first == {
        "type": "RO_ACCESS_REPORT",
        "message_id": 7,
        "tags": [
            {
                "epc": "3000ABCDEF00000000000003",
                "antenna": 1,
                "peak_rssi": -48,
                "first_seen_us": 1594174805140192,
                "seen_count": None,
            }
        ],
    }
    assert second == {"type": "KEEPALIVE", "message_id": 8}


def test_decode_hex_from_stdin_and_a_bare_recorded_body() -> None:
    hex_text = encode_message(Message("KEEPALIVE", 3)).hex(" ").encode()
    assert json.loads(run_cli("llrp", "decode", "-", "--hex", stdin=hex_text).stdout)["type"] == "KEEPALIVE"
    caps = VECTORS / "llrp" / "GetReaderCapabilitiesResponse-000.bytes"
    proc = run_cli("llrp", "decode", str(caps), "--body", "GET_READER_CAPABILITIES_RESPONSE")
    out = json.loads(proc.stdout)
    assert out["GeneralDeviceCapabilities"]["FirmwareVersion"] == "5.14.0.240"


def test_a_truncated_capture_exits_2_with_where_it_broke(tmp_path: Path) -> None:
    capture = tmp_path / "cut.bin"
    capture.write_bytes(encode_message(Message("KEEPALIVE", 1)) + b"\x04\x3e\x00")
    proc = run_cli("llrp", "decode", str(capture))
    assert proc.returncode == 2
    lines = [json.loads(line) for line in proc.stdout.decode().splitlines()]
    assert lines[0]["type"] == "KEEPALIVE"
    assert lines[1]["error"] == {"code": "truncated", "message": "3 bytes after the last whole message", "position": 10}


def test_sim_llrp_runs_alone_and_our_driver_reads_its_tags() -> None:
    proc = subprocess.Popen(
        [sys.executable, "-m", "edge_agent.cli", "sim", "llrp", "--port", "0", "--tags", "3", "--seed", "1"],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        assert "listening on 127.0.0.1:" in line and "3 tags" in line
        port = int(line.split("127.0.0.1:")[1].split()[0])

        async def read_some() -> set[str]:
            reader = LLRPReader("box", "127.0.0.1", port)
            await reader.start()
            seen: set[str] = set()
            async for read in reader.reads():
                seen.add(read.raw)
                if len(seen) == 3:
                    break
            assert reader.health.state is HealthState.ONLINE
            await reader.stop()
            return seen

        seen = asyncio.run(asyncio.wait_for(read_some(), 20))
        assert len(seen) == 3 and all(s.startswith("30") for s in seen)
    finally:
        proc.terminate()
        proc.wait(10)


def test_sim_scanner_turns_stdin_lines_into_scans_our_driver_reads(tmp_path: Path) -> None:
    from drivers.scanner import ScannerReader

    link = tmp_path / "scanner"
    proc = subprocess.Popen(
        [sys.executable, "-m", "edge_agent.cli", "sim", "scanner", "--link", str(link)],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
    )
    try:
        assert proc.stdout is not None and proc.stdin is not None
        assert b"scanner sim on" in proc.stdout.readline()

        async def scan() -> str:
            reader = ScannerReader("scanner", str(link))
            await reader.start()
            try:
                for _ in range(100):
                    if reader.health.state is HealthState.ONLINE:
                        break
                    await asyncio.sleep(0.05)
                proc.stdin.write(b"0104610053149777215d/wuU<GS>93dGVz\n")  # type: ignore[union-attr]
                proc.stdin.flush()  # type: ignore[union-attr]
                read = await asyncio.wait_for(anext(reader.reads()), 10)
                return read.raw
            finally:
                await reader.stop()

        assert asyncio.run(scan()) == "0104610053149777215d/wuU\x1d93dGVz"
    finally:
        proc.stdin.close()  # type: ignore[union-attr]
        proc.wait(10)


def test_sim_kkt_runs_alone_and_our_atol_driver_opens_a_shift_checks_a_code_and_prints() -> None:
    from edge_agent.fiscal.atol import AtolRegister
    from edge_agent.fiscal.marks import imc

    args = ["sim", "kkt", "--port", "0", "--device", "sco-1", "--print-ms", "10", "--check-ms", "10"]
    proc = subprocess.Popen(
        [sys.executable, "-m", "edge_agent.cli", *args], cwd=ROOT, stdout=subprocess.PIPE, text=True
    )
    try:
        assert proc.stdout is not None
        started = json.loads(proc.stdout.readline())
        assert started["devices"] == ["sco-1"]
        code = "0104600439931256215Ab3dEf\x1d93ab1c"

        async def sale() -> tuple[str, dict[str, object], str]:
            register = AtolRegister(started["kkt_sim"].removesuffix("/api/v2"), "sco-1")
            await register.open_shift()
            check = await register.check_mark(code)
            item = {
                "type": "position",
                "name": "Сигареты",
                "price": 250.0,
                "quantity": 1,
                "amount": 250.0,
                "tax": {"type": "vat22"},
                "imcParams": {"imcType": "auto", "imc": imc(code), "itemEstimatedStatus": "itemPieceSold"},
            }
            task = {"type": "sell", "items": [item], "payments": [{"type": "electronically", "sum": 250.0}]}
            [printed] = await register.submit("3f2b1c4e-0000-4000-8000-00000000c0de", [task])
            again = await register.submit(
                "3f2b1c4e-0000-4000-8000-00000000c0de", [task]
            )  # the same request: no reprint
            state = (await register.status()).shift.state
            await register.aclose()
            assert again[0] == printed
            return str(check.refusal()), printed["fiscalParams"], state

        refusal, fiscal, state = asyncio.run(asyncio.wait_for(sale(), 20))
        assert refusal == "None" and fiscal["fiscalDocumentNumber"] == 2 and state == "opened"  # FD 1: the shift
    finally:
        proc.terminate()
        proc.wait(10)
