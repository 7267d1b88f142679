"""Mark-code verification: a basket end to end, the Local Module fallback, and our overhead.

The simulated CRPT services run in a separate process (``edge-agent sim crpt``), so that
the agent's own work is measured in this one. Figures (one JSON line each):

- ``basket_50_online_100ms``: a 50-item RFID basket checked through the chain (TS PIoT and the
  Local Module asked together, one batched request each) with every server at 100 ms
  latency; target ≤ 250 ms end to end;
- ``basket_50_online_hanging``: the same with TS PIoT accepting and never answering: the
  Local Module decides; target ≤ 1.6 s;
- ``single_check_overhead``: single-code checks against a 20 ms server, side by side with a
  bare keep-alive HTTP exchange of the same request on a raw socket (the server's latency as
  the client sees it); overhead = ours − bare, p50 and p99; target p99 ≤ 5 ms.

Run: ``make bench`` or ``.venv/bin/python bench/verify.py [--quick]``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from zoneinfo import ZoneInfo

from edge_agent.codes import Identity, check_digit, parse
from edge_agent.verify.chain import Verifier
from edge_agent.verify.local_module import LocalModuleBackend
from edge_agent.verify.ts_piot import TsPiotBackend

ROOT = Path(__file__).resolve().parent.parent
TZ = ZoneInfo("Europe/Moscow")


def basket(n: int) -> list[Identity]:
    out = []
    for i in range(n):
        body = f"046100531{i:04d}"
        gtin = body + str(check_digit(body))
        out.append(parse(f"01{gtin}215Serial{i:07d}\x1d93dGVz"))
    return out


@contextmanager
def crpt(
    base_port: int, latency_ms: float, codes: list[Identity], hang: Sequence[str] = ()
) -> Iterator[dict[str, str]]:
    cmd = [
        sys.executable,
        "-m",
        "edge_agent.cli",
        "sim",
        "crpt",
        "--base-port",
        str(base_port),
        "--latency-ms",
        str(latency_ms),
    ]
    for item in codes:
        cmd += ["--code", f"sellable={item.mark_code}"]
    for name in hang:
        cmd += ["--hang", name]
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        yield json.loads(proc.stdout.readline())["crpt_sim"]
    finally:
        proc.terminate()
        proc.wait(10)


def verifier(urls: dict[str, str]) -> Verifier:
    online = TsPiotBackend(urls["ts_piot"], {"name": "bench", "version": "1", "id": "1", "token": ""})
    local = LocalModuleBackend(urls["lm"], "admin", "admin", "9999078900012345")
    return Verifier(online, local, TZ)


async def timed(v: Verifier, items: list[Identity], runs: int) -> list[float]:
    await v.verify(items)  # warm: connections open
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        verdicts = await v.verify(items)
        times.append(time.perf_counter() - t0)
        assert all(x.allowed for x in verdicts), verdicts[0]
    return times


def p(values: list[float], q: float) -> float:
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1] if len(values) > 1 else values[0]


async def main_async(quick: bool) -> None:
    items = basket(50)
    with crpt(18280, 100, items) as urls:
        times = await timed(verifier(urls), items, 5 if quick else 30)
        print(
            json.dumps(
                {
                    "figure": "basket_50_online_100ms",
                    "unit": "ms",
                    "p50": round(p(times, 50) * 1000, 1),
                    "p95": round(p(times, 95) * 1000, 1),
                    "max": round(max(times) * 1000, 1),
                    "target_max": 250,
                    "server_latency_ms": 100,
                    "items": 50,
                }
            )
        )
    with crpt(18290, 10, items, hang=["ts_piot"]) as urls:
        v = verifier(urls)
        times = []
        for _ in range(2 if quick else 5):
            t0 = time.perf_counter()
            verdicts = await v.verify(items)
            times.append(time.perf_counter() - t0)
            assert all(x.context is not None and x.context.offline and x.allowed for x in verdicts)
        print(
            json.dumps(
                {
                    "figure": "basket_50_online_hanging",
                    "unit": "ms",
                    "max": round(max(times) * 1000, 1),
                    "target_max": 1600,
                    "decided_by": "local_module",
                    "items": 50,
                }
            )
        )
    single = items[:1]
    with crpt(18300, 20, single) as urls:
        v = verifier(urls)
        runs = 50 if quick else 500
        ours: list[float] = []
        bare: list[float] = []
        for _ in range(2):  # interleaved halves
            ours += await timed(v, single, runs // 2)
            bare += await bare_exchange(urls["ts_piot"], single[0], runs // 2)
        print(
            json.dumps(
                {
                    "figure": "single_check_overhead",
                    "unit": "ms",
                    "server_latency_ms": 20,
                    "ours_p50": round(p(ours, 50) * 1000, 2),
                    "ours_p99": round(p(ours, 99) * 1000, 2),
                    "bare_p50": round(p(bare, 50) * 1000, 2),
                    "bare_p99": round(p(bare, 99) * 1000, 2),
                    "p50": round((p(ours, 50) - p(bare, 50)) * 1000, 2),
                    "p99": round((p(ours, 99) - p(bare, 99)) * 1000, 2),
                    "target_p99": 5,
                    "checks": len(ours),
                }
            )
        )


async def bare_exchange(url: str, item: Identity, runs: int) -> list[float]:
    """The same check as a prebuilt request on a raw keep-alive socket: no client library."""
    host, port = url.removeprefix("http://").split(":")
    body = json.dumps({"codes": [{"cis": item.ts_piot_code}], "client_info": {"name": "bench"}}).encode()
    request = (
        f"POST /api/v2/codes/check HTTP/1.1\r\nHost: {host}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode() + body
    reader, writer = await asyncio.open_connection(host, int(port))
    times = []
    try:
        for _ in range(runs + 1):
            t0 = time.perf_counter()
            writer.write(request)
            head = await reader.readuntil(b"\r\n\r\n")
            length = int(
                next(line.split(b":")[1] for line in head.split(b"\r\n") if line.lower().startswith(b"content-length"))
            )
            await reader.readexactly(length)
            times.append(time.perf_counter() - t0)
    finally:
        writer.close()
    return times[1:]


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args(argv)
    asyncio.run(main_async(args.quick))
    return 0


if __name__ == "__main__":
    sys.exit(main())
