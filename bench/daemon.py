"""The daemon: a 50-item box settled and verified, and resident memory with 8 lanes at full rate.

- ``box_50_settled_and_verified``: 50 marked items placed in a simulated LLRP box at 1,000
  reads/s; from the first read of the last item to every line having its verdict (one
  batched TS PIoT check after the box settles). Target: ≤ the quiet period (``settle_s``)
  + 100 ms.
- ``daemon_rss_8_lanes``: ``edge-agent run`` as its own process with 8 lanes, each on its own
  simulated reader at 1,500 reads/s (eight ``edge-agent sim llrp`` processes) for 10 s;
  resident memory read from /proc. Target: < 150 MB.

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
    catalog.write_text(json.dumps({
        "products": [{"gtin": parse(c).gtin, "name": f"item {i}", "price": 100, "marked": True, "group": "water"}
                     for i, c in enumerate(codes)],
        "received_codes": {parse(c).ki: c for c in codes},
    }))  # fmt: skip
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
        )  # fmt: skip
        stop = asyncio.Event()
        daemon = Daemon(cfg)
        task = asyncio.create_task(daemon.run(stop))
        ready = asyncio.create_task(daemon.ready.wait())
        await asyncio.wait({task, ready}, return_when=asyncio.FIRST_COMPLETED)
        if task.done():
            task.result()  # the daemon failed to start: say why
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
    return {"figure": "box_50_settled_and_verified", "unit": "ms", "after_last_arrival": round(took, 1),
            "settle_s": SETTLE_S, "target_max": SETTLE_S * 1000 + 100, "reads_per_s": 1000, "items": 50}  # fmt: skip


def rss(seconds: float, tmp: Path) -> dict[str, object]:
    sims, ports = [], []
    try:
        for lane in range(8):
            proc = subprocess.Popen([sys.executable, "-m", "edge_agent.cli", "sim", "llrp", "--port", "0", "--tags",
                                     "50", "--reads-per-s", "1500", "--seed", str(lane)],
                                    cwd=ROOT, stdout=subprocess.PIPE, text=True)  # fmt: skip
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
        daemon = subprocess.Popen([sys.executable, "-m", "edge_agent.cli", "--config", str(config), "run"], cwd=ROOT,
                                  stderr=subprocess.DEVNULL)  # fmt: skip
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
    return {"figure": "daemon_rss_8_lanes", "unit": "MB", "peak_rss": round(peak / 1024, 1), "target_max": 150,
            "lanes": 8, "reads_per_s_per_reader": 1500, "seconds": seconds}  # fmt: skip


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args(argv)
    with tempfile.TemporaryDirectory() as tmp:
        print(json.dumps(asyncio.run(box(Path(tmp)))), flush=True)
        print(json.dumps(rss(3.0 if args.quick else 10.0, Path(tmp))), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
