"""The daemon: a 50-item box settled and verified, resident memory with 8 lanes at full rate,
lane isolation, and a flooding reader.

- ``box_50_settled_and_verified``: 50 marked items placed in a simulated LLRP box at 1,000
  reads/s; from the first read of the last item to every line having its verdict (one
  batched TS PIoT check after the box settles). Target: ≤ the quiet period (``settle_s``)
  + 100 ms.
- ``daemon_rss_8_lanes``: ``edge-agent run`` as its own process with 8 lanes, each on its own
  simulated reader at 1,500 reads/s (eight ``edge-agent sim llrp`` processes) for 10 s;
  resident memory read from /proc. Target: < 150 MB.
- ``lane_isolation``: two box lanes, each on its own simulated reader; five marked items placed
  in both boxes at once, trial after trial, first with both lanes' checks healthy, then with
  lane A's TS PIoT check hanging (its Local Module answers near the 1.5 s budget). Figure: lane
  B's place → every line verified, mean over the trials, hung minus healthy. Target ≤ 20 ms.
- ``flood``: a reader in its own process sending 50× a real reader's rate (75,000 reads/s
  asked; the rate it reached is reported) of repeat reads of 20 tags, while a new tag is placed
  20 times: the new tag's placement → its basket line, p99, side by side with the same reader at
  a real rate (1,500 reads/s), as a ratio; and this process's resident memory before and after
  the flood. Target: p99 ≤ 100 ms, RSS flat.

Run: ``make bench`` or ``.venv/bin/python bench/daemon.py [--quick]``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

from drivers.llrp import LLRPSettings
from edge_agent.basket import Basket
from edge_agent.codes import check_digit, encode_sgtin198, parse
from edge_agent.config import Config, LaneSettings, Verify, ZoneConfig
from edge_agent.daemon import Daemon
from sim.crpt import CrptSim
from sim.llrp_reader import LLRPReaderSim

ROOT = Path(__file__).resolve().parent.parent
SETTLE_S = 0.3


async def box(tmp: Path) -> dict[str, object]:
    codes = []
    for i in range(50):
        body = f"046100531{i:04d}"
        codes.append(f"01{body}{check_digit(body)}215Box{i:010d}\x1d93dGVz")
    catalog = tmp / "catalog.json"
    catalog.write_text(
        json.dumps(
            {
                "products": [
                    {"gtin": parse(c).gtin, "name": f"item {i}", "price": 100, "marked": True, "group": "water"}
                    for i, c in enumerate(codes)
                ],
                "received_codes": {parse(c).ki: c for c in codes},
            }
        )
    )
    async with CrptSim() as crpt, LLRPReaderSim(reads_per_s=1000, seed=3, miss_rate=0.0) as reader:
        for c in codes:
            crpt.registry.add(c)
        cfg = Config(
            agent={"data_dir": tmp / "var", "catalog_file": catalog},  # type: ignore[arg-type]
            verify=Verify(ts_piot_url=crpt.url("ts_piot"), local_module_url=crpt.url("lm")),
            mqtt={"enabled": False},  # type: ignore[arg-type]
            http={"enabled": False},  # type: ignore[arg-type]
            readers=[LLRPSettings(id="box", driver="llrp", port=reader.port)],
            lanes=[LaneSettings(id="lane", settle_s=SETTLE_S, depart_after_s=5, zones=[ZoneConfig(reader="box")])],
        )
        daemon, stop, task = await running(cfg)
        await asyncio.sleep(1.0)  # the reader is online and inventorying an empty box
        lane = daemon.lanes["lane"]
        for c in codes:
            item = parse(c)
            reader.place(encode_sgtin198(item.gtin, item.serial, 7), antenna=1)
        last_arrival = done = None
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            basket = lane.basket
            lines = list(basket.lines.values()) if basket else []
            if last_arrival is None and len(lines) == 50:
                last_arrival = time.monotonic()
            if len(lines) == 50 and all(line.verdict == "ALLOWED" for line in lines):
                done = time.monotonic()
                break
            await asyncio.sleep(0.002)
        stop.set()
        await task
    assert last_arrival is not None and done is not None, "the box was not settled and verified in 20 s"
    took = (done - last_arrival) * 1000
    return {
        "figure": "box_50_settled_and_verified",
        "unit": "ms",
        "after_last_arrival": round(took, 1),
        "settle_s": SETTLE_S,
        "target_max": SETTLE_S * 1000 + 100,
        "reads_per_s": 1000,
        "items": 50,
    }


def rss(seconds: float, tmp: Path) -> dict[str, object]:
    sims, ports = [], []
    try:
        for lane in range(8):
            proc = subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "edge_agent.cli",
                    "sim",
                    "llrp",
                    "--port",
                    "0",
                    "--tags",
                    "50",
                    "--reads-per-s",
                    "1500",
                    "--seed",
                    str(lane),
                ],
                cwd=ROOT,
                stdout=subprocess.PIPE,
                text=True,
            )
            sims.append(proc)
            assert proc.stdout is not None
            ports.append(int(proc.stdout.readline().split("127.0.0.1:")[1].split()[0]))
        config = tmp / "rss.toml"
        text = f'[agent]\ndata_dir = "{tmp / "rss"}"\nlog_level = "WARNING"\n'
        text += "[mqtt]\nenabled = false\n[http]\nenabled = false\n"
        for i, port in enumerate(ports):
            text += f'[[readers]]\nid = "box-{i}"\ndriver = "llrp"\nport = {port}\n'
        for i in range(8):
            text += f'[[lanes]]\nid = "lane-{i}"\n[[lanes.zones]]\nreader = "box-{i}"\n'
        config.write_text(text)
        daemon = subprocess.Popen(
            [sys.executable, "-m", "edge_agent.cli", "--config", str(config), "run"],
            cwd=ROOT,
            stderr=subprocess.DEVNULL,
        )
        peak = 0
        end = time.monotonic() + seconds
        while time.monotonic() < end:
            time.sleep(0.5)
            status = Path(f"/proc/{daemon.pid}/status").read_text()
            peak = max(peak, int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmRSS"))))
        daemon.terminate()
        daemon.wait(20)
    finally:
        for proc in sims:
            proc.terminate()
            proc.wait(10)
    return {
        "figure": "daemon_rss_8_lanes",
        "unit": "MB",
        "peak_rss": round(peak / 1024, 1),
        "target_max": 150,
        "lanes": 8,
        "reads_per_s_per_reader": 1500,
        "seconds": seconds,
    }


def marked_items(prefix: str, n: int, tag: str) -> list[str]:
    """``n`` mark codes of one GTIN per lane (a hung check is per GTIN in the simulator)."""
    body = f"046100531{prefix}"
    gtin = body + str(check_digit(body))
    return [f"01{gtin}21{tag}{i:08d}\x1d93dGVz" for i in range(n)]


def two_lane_config(tmp: Path, codes: list[str], ports: dict[str, int], crpt: CrptSim) -> Config:
    catalog = tmp / "catalog.json"
    gtins = sorted({parse(c).gtin for c in codes})
    catalog.write_text(
        json.dumps(
            {
                "products": [
                    {"gtin": g, "name": f"item {g}", "price": 100, "marked": True, "group": "water"} for g in gtins
                ],
                "received_codes": {parse(c).ki: c for c in codes},
            }
        )
    )
    return Config(
        agent={"data_dir": tmp / "var", "catalog_file": catalog},  # type: ignore[arg-type]
        verify=Verify(ts_piot_url=crpt.url("ts_piot"), local_module_url=crpt.url("lm")),
        mqtt={"enabled": False},  # type: ignore[arg-type]
        http={"enabled": False},  # type: ignore[arg-type]
        readers=[LLRPSettings(id=f"box-{lane}", driver="llrp", port=port) for lane, port in ports.items()],
        lanes=[
            LaneSettings(id=lane, settle_s=SETTLE_S, depart_after_s=0.3, zones=[ZoneConfig(reader=f"box-{lane}")])
            for lane in ports
        ],
    )


async def running(cfg: Config) -> tuple[Daemon, asyncio.Event, asyncio.Task[None]]:
    stop = asyncio.Event()
    daemon = Daemon(cfg)
    task = asyncio.create_task(daemon.run(stop))
    ready = asyncio.create_task(daemon.ready.wait())
    await asyncio.wait({task, ready}, return_when=asyncio.FIRST_COMPLETED)
    if task.done():
        task.result()  # the daemon failed to start: say why
    return daemon, stop, task


async def isolation(tmp: Path, trials: int) -> dict[str, object]:
    a_codes, b_codes = marked_items("1001", 5 * trials * 2, "A"), marked_items("2002", 5 * trials * 2, "B")
    async with (
        CrptSim() as crpt,
        LLRPReaderSim(reads_per_s=1000, seed=1, miss_rate=0.0) as ra,
        LLRPReaderSim(reads_per_s=1000, seed=2, miss_rate=0.0) as rb,
    ):
        for c in a_codes + b_codes:
            crpt.registry.add(c)
        daemon, stop, task = await running(two_lane_config(tmp, a_codes + b_codes, {"A": ra.port, "B": rb.port}, crpt))
        await asyncio.sleep(1.0)  # both readers online, inventorying empty boxes
        done: dict[str, float] = {}

        def changed(basket: Basket) -> None:
            lines = list(basket.lines.values())
            if lines and basket.lane not in done and all(line.verdict for line in lines):
                done[basket.lane] = time.monotonic()

        assert daemon.services is not None
        daemon.services.records.journal.listeners.append(changed)
        results: dict[str, list[float]] = {"healthy": [], "hung": []}
        n = 0
        for condition in ("healthy", "hung"):
            crpt.hang_gtins = {parse(a_codes[0]).gtin} if condition == "hung" else set()
            for _ in range(trials):
                batch_a, batch_b = a_codes[n : n + 5], b_codes[n : n + 5]
                n += 5
                done.clear()
                placed = time.monotonic()
                for ca, cb in zip(batch_a, batch_b, strict=True):
                    ra.place(epc_of(ca), antenna=1)
                    rb.place(epc_of(cb), antenna=1)
                while len(done) < 2 and time.monotonic() - placed < 10:
                    await asyncio.sleep(0.001)
                assert len(done) == 2, f"a lane was not verified in 10 s ({condition})"
                results[condition].append((done["B"] - placed) * 1000)
                ra.tags.clear()
                rb.tags.clear()
                while any(
                    daemon.lanes[lane].basket and daemon.lanes[lane].basket.lines  # type: ignore[union-attr]
                    for lane in ("A", "B")
                ):
                    await asyncio.sleep(0.01)
        stop.set()
        await task
    healthy, hung = (sum(results[k]) / len(results[k]) for k in ("healthy", "hung"))
    return {
        "figure": "lane_isolation",
        "unit": "ms",
        "lane_b_healthy_mean": round(healthy, 1),
        "lane_b_while_a_hangs_mean": round(hung, 1),
        "delta": round(hung - healthy, 1),
        "target_max": 20,
        "trials": trials,
        "items_per_lane": 5,
    }


def epc_of(code: str) -> str:
    item = parse(code)
    return encode_sgtin198(item.gtin, item.serial, 7)


FLOOD_TAGS = 20
REAL_RATE = 1500


def flood_reader_main(rate: float) -> None:
    """The flooding reader, in its own process: 20 tags in the field, then place/remove on stdin."""

    async def serve() -> None:
        async with LLRPReaderSim(reads_per_s=rate, seed=9, miss_rate=0.0, capped=False) as sim:
            for i in range(FLOOD_TAGS):
                sim.place(encode_sgtin198("04600000000015", f"F{i}", 7), antenna=1)
            print(sim.port, flush=True)
            loop = asyncio.get_running_loop()
            while line := await loop.run_in_executor(None, sys.stdin.readline):
                verb, _, epc = line.strip().partition(" ")
                if verb == "place":
                    sim.place(epc, antenna=1)
                    print(json.dumps({"placed": time.time()}), flush=True)
                elif verb == "remove":
                    sim.remove(epc)
                    print(json.dumps({"removed": True}), flush=True)
                elif verb == "rate":
                    since = time.monotonic() - (sim.first_report_at or time.monotonic())
                    print(json.dumps({"reads_per_s": sim.reports_sent / max(since, 1e-9)}), flush=True)

    asyncio.run(serve())


def _rss_mb() -> float:
    status = Path("/proc/self/status").read_text()
    return int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmRSS"))) / 1024


async def placements(tmp: Path, rate: float, n: int) -> tuple[list[float], float, Daemon]:
    proc = subprocess.Popen(
        [sys.executable, __file__, "--flood-reader", str(rate)],
        cwd=ROOT,
        text=True,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
    )
    assert proc.stdin is not None and proc.stdout is not None
    try:
        port = int(proc.stdout.readline())
        catalog = tmp / "flood.json"
        catalog.write_text(json.dumps({"products": [{"gtin": "04600000000015", "name": "Bread", "price": 5500}]}))
        cfg = Config(
            agent={"data_dir": tmp / f"flood-{rate}", "catalog_file": catalog},  # type: ignore[arg-type]
            mqtt={"enabled": False},
            http={"enabled": False},  # type: ignore[arg-type]
            readers=[LLRPSettings(id="box", driver="llrp", port=port)],
            lanes=[LaneSettings(id="lane", settle_s=SETTLE_S, depart_after_s=2.0, zones=[ZoneConfig(reader="box")])],
        )
        daemon, stop, task = await running(cfg)
        lane = daemon.lanes["lane"]
        while lane.basket is None or len(lane.basket.lines) < FLOOD_TAGS:
            await asyncio.sleep(0.01)
        arrived: dict[str, float] = {}
        assert daemon.services is not None

        def changed(basket: Basket) -> None:
            for line in basket.lines.values():
                arrived.setdefault(line.key, time.time())

        daemon.services.records.journal.listeners.append(changed)
        latencies = []
        for i in range(n):
            epc = encode_sgtin198("04600000000015", f"N{i}", 7)
            ki = parse(epc).ki
            proc.stdin.write(f"place {epc}\n")
            proc.stdin.flush()
            placed = json.loads(await asyncio.to_thread(proc.stdout.readline))["placed"]
            while ki not in arrived:
                await asyncio.sleep(0.001)
            latencies.append((arrived[ki] - placed) * 1000)
            proc.stdin.write(f"remove {epc}\n")
            proc.stdin.flush()
            await asyncio.to_thread(proc.stdout.readline)
            await asyncio.sleep(0.05)
        proc.stdin.write("rate\n")
        proc.stdin.flush()
        reached = json.loads(await asyncio.to_thread(proc.stdout.readline))["reads_per_s"]
        stop.set()
        await task
        return latencies, reached, daemon
    finally:
        proc.terminate()
        proc.wait(10)


def p99(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))]


async def flood(tmp: Path, n: int) -> dict[str, object]:
    quiet, quiet_rate, _ = await placements(tmp, REAL_RATE, n)
    rss_before = _rss_mb()
    flooded, flood_rate, daemon = await placements(tmp, REAL_RATE * 50, n)
    rss_after = _rss_mb()
    q = daemon.read_queue
    return {
        "figure": "flood",
        "unit": "ms",
        "new_tag_p99": round(p99(flooded), 1),
        "new_tag_p99_real_rate": round(p99(quiet), 1),
        "ratio": round(p99(flooded) / p99(quiet), 2),
        "target_max": 100,
        "placements": n,
        "reads_per_s_asked": REAL_RATE * 50,
        "reads_per_s_reached": round(flood_rate),
        "real_rate_reached": round(quiet_rate),
        "reads_coalesced": q.coalesced,
        "reads_dropped": q.dropped,
        "queue_peak_depth": q.peak_depth,
        "queue_capacity": q.capacity,
        "rss_mb_before": round(rss_before, 1),
        "rss_mb_after": round(rss_after, 1),
    }


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--flood-reader", type=float, help=argparse.SUPPRESS)  # the child process
    ap.add_argument("--only", choices=("box", "rss", "isolation", "flood"), help="one figure")
    args = ap.parse_args(argv)
    if args.flood_reader:
        flood_reader_main(args.flood_reader)
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        if args.only in (None, "box"):
            print(json.dumps(asyncio.run(box(Path(tmp)))), flush=True)
        if args.only in (None, "rss"):
            print(json.dumps(rss(3.0 if args.quick else 10.0, Path(tmp))), flush=True)
        if args.only in (None, "isolation"):
            print(json.dumps(asyncio.run(isolation(Path(tmp), 3 if args.quick else 10))), flush=True)
        if args.only in (None, "flood"):
            print(json.dumps(asyncio.run(flood(Path(tmp), 5 if args.quick else 20))), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
