"""The read pipeline: de-duplication, lane assignment and presence, reads per second on one core.

Eight box lanes side by side, 50 tagged items each, every item read on its own box's two
antennas and now and then, weakly, by the neighbouring box (strays), as a fixed reader at
full rate delivers them; time advances 1 ms per read and ``tick`` runs every 100 ms, as the
daemon does. Figures (one JSON line each): reads/s through ``Pipeline.feed`` (+ ticks), the
same as a multiple of one fixed reader's 1,500 reads/s, and the p99 added latency per read.
Run: ``make bench`` or ``.venv/bin/python bench/pipeline.py [--quick]``.
"""

from __future__ import annotations

import argparse
import gc
import json
import random
import statistics
import sys
import time
from collections.abc import Sequence

from edge_agent.pipeline import LaneConfig, Pipeline, Settled, Zone
from edge_agent.reads import TagRead

LANES = 8
ITEMS = 50
READER_MAX = 1500


def workload(n: int, rng: random.Random) -> list[TagRead]:
    epcs = [[f"30{lane:02X}{i:020X}" for i in range(ITEMS)] for lane in range(LANES)]
    reads = []
    for k in range(n):
        lane = rng.randrange(LANES)
        if rng.random() < 0.05 and LANES > 1:  # a stray from next door
            other = (lane + 1) % LANES
            reads.append(
                TagRead(f"box-{other}", 1, "epc", rng.choice(epcs[lane]), rng.randint(-90, -72), received=k / 1000)
            )
        else:
            reads.append(
                TagRead(
                    f"box-{lane}",
                    rng.choice((1, 2)),
                    "epc",
                    rng.choice(epcs[lane]),
                    rng.randint(-60, -40),
                    received=k / 1000,
                )
            )
    return reads


def pipeline() -> Pipeline:
    zones = [Zone(f"box-{i}", f"lane-{i}", frozenset({1, 2}), min_rssi=-70) for i in range(LANES)]
    return Pipeline(zones, [LaneConfig(f"lane-{i}", depart_after_s=2.0, settle_s=0.5) for i in range(LANES)])


def run(reads: list[TagRead]) -> tuple[float, int]:
    p = pipeline()
    feed, tick = p.feed, p.tick
    settled = 0
    gc.collect()
    t0 = time.perf_counter()
    for k, r in enumerate(reads):
        feed(r)
        if k % 100 == 99:
            settled += sum(isinstance(e, Settled) for e in tick(r.received))
    return time.perf_counter() - t0, settled


def latencies(reads: list[TagRead]) -> list[float]:
    p = pipeline()
    clock = time.perf_counter_ns
    out = []
    for k, r in enumerate(reads):
        t0 = clock()
        p.feed(r)
        if k % 100 == 99:
            p.tick(r.received)
        out.append(clock() - t0)
    return out


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args(argv)
    reads = workload(100_000 if args.quick else 1_000_000, random.Random(20261123))
    best, settled = min(run(reads) for _ in range(2 if args.quick else 5))
    rate = len(reads) / best
    print(
        json.dumps(
            {
                "figure": "pipeline_reads_per_s",
                "unit": "reads/s",
                "ours": round(rate),
                "lanes": LANES,
                "items_per_lane": ITEMS,
                "reads": len(reads),
                "settled_events": settled,
                "python": sys.version.split()[0],
            }
        )
    )
    print(
        json.dumps(
            {
                "figure": "pipeline_vs_fixed_readers",
                "unit": "readers",
                "ours": round(rate / READER_MAX, 1),
                "reader_max_reads_per_s": READER_MAX,
            }
        )
    )
    lat = latencies(reads[: 200_000 if not args.quick else 50_000])
    q = statistics.quantiles(lat, n=1000, method="inclusive")
    us = [round(q[i] / 1000, 2) for i in (499, 989, 998)]
    print(
        json.dumps(
            {
                "figure": "pipeline_added_latency",
                "unit": "us",
                "p50": us[0],
                "p99": us[1],
                "p999": us[2],
                "target_p99": 1000,
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
