"""The exit gate: from a tag's first read at the gate to the reader's light, and how often a
gate without direction would alarm for nothing. One process, real parts: the simulated LLRP
reader over TCP (two antennas, inside -> outside, a GPO), our LLRP driver, the read queue,
the gate's shell and a SQLite store.

Each walk carries one tag past the antennas, ``--step-ms`` in each field (the time a walking
person takes from one antenna's field to the next: the physical floor of any decision that
needs both). Half the walks are unpaid items walking out; the rest are paid items walking out,
unpaid items walking in and tags lingering inside the door. Figures (one JSON line each):

- ``alarm_latency_ms``: the first read at the gate -> the GPO on at the reader, p50/p99, next
  to the walk's time between the fields as a ratio;
- ``decision_ms``: the first read on the outer antenna -> the GPO on (what our code adds);
- ``false_alarms``: ours next to a naive gate that alarms on any unpaid item it reads, over the
  same walks (walk-ins and lingerers are what a directionless gate gets wrong).

Run: ``make bench`` (or ``python bench/gate.py --walks 200``).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import platform
import tempfile
from pathlib import Path
from zoneinfo import ZoneInfo

from drivers.llrp import LLRPReader
from edge_agent.basket import Product
from edge_agent.codes.epc import encode_sgtin96
from edge_agent.config import GateSettings
from edge_agent.dashboard import percentile
from edge_agent.gate.gates import GateFacts, Gates
from edge_agent.gate.records import GateAlarm
from edge_agent.llrp.inventory import InventoryConfig
from edge_agent.metrics import Metrics
from edge_agent.readqueue import ReadQueue
from edge_agent.repositories import open_repositories
from sim.llrp_reader import LLRPReaderSim

BAR = Product("04600000000015", "Chocolate", 12_900, 20, "sweets")


def emit(figure: str, **values: object) -> None:
    print(json.dumps({"bench": "gate", "figure": figure, **values, "python": platform.python_version()}))


async def run(walks: int, step_s: float) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        store = open_repositories(Path(tmp) / "db.sqlite", tz=ZoneInfo("UTC"))
        store.catalogue.upsert_products([BAR])
        async with LLRPReaderSim(antennas=2, gpos=1, reads_per_s=800, miss_rate=0.02, seed=5) as sim:
            queue = ReadQueue()
            reader = LLRPReader("gate-1", "127.0.0.1", sim.port, config=InventoryConfig(keepalive_ms=1000))
            reader.attach(queue)
            gates = Gates(
                [GateSettings(id="exit", reader="gate-1", gpo_port=1, alarm_s=0.05)],
                facts=GateFacts(catalogue=store.catalogue, sold=store.sold, tids=store.tids, alarms=store.gate_alarms),
                metrics=Metrics(),
                readers={"gate-1": reader},
            )
            naive: set[str] = set()  # a gate without direction: any unpaid item it reads alarms
            raised: list[GateAlarm] = []
            gates.listeners.append(raised.append)

            async def consume() -> None:
                while True:
                    for read in await queue.get_batch():
                        gates.take(read)
                        if read.raw in unpaid and read.raw not in paid_epcs:
                            naive.add(read.raw)

            await reader.start()
            consumer = asyncio.create_task(consume())
            while reader.health.state.value != "online":
                await asyncio.sleep(0.01)
            unpaid, paid_epcs, should_alarm = set(), set(), set()
            for n in range(walks):
                epc = encode_sgtin96(BAR.gtin, str(10_000 + n), 7).upper()
                kind = ("out", "paid", "in", "linger")[n % 4] if n % 2 else "out"
                unpaid.add(epc)
                if kind == "paid":
                    paid_epcs.add(epc)
                    store.db.conn.execute(
                        "INSERT INTO sold (ki, basket_id, sold_at) VALUES (?, 'b', 0)", (f"01{BAR.gtin}21{10_000 + n}",)
                    )
                if kind == "out":
                    should_alarm.add(epc)
                antennas = {"out": (1, 2), "paid": (1, 2), "in": (2, 1), "linger": (1,)}[kind]
                await sim.walk(epc, antennas, step_s)
                await asyncio.sleep(0.05)
            await asyncio.sleep(0.5)
            consumer.cancel()
            await reader.stop()
            alarms = {a.epc: a for a in raised}
            assert len(store.gate_alarms.list(open_only=False)) == len(raised)  # each one recorded
            ons = [t for t, port, on in sim.gpo_log if port == 1 and on]
            latency, decision = [], []
            for alarm in alarms.values():  # the GPO write that followed each alarm
                first, crossed = alarm.first_read_at, alarm.crossed_at or alarm.first_read_at
                on = min((t for t in ons if t >= first), default=None)
                if on is not None:
                    latency.append((on - first) * 1000)
                    decision.append((on - crossed) * 1000)
            missed = len(should_alarm - set(alarms))
            emit(
                "alarm_latency_ms",
                walks=walks,
                alarms=len(alarms),
                missed=missed,
                p50=percentile(latency, 50),
                p99=percentile(latency, 99),
                walk_between_fields_ms=round(step_s * 1000),
                ratio_p99_to_walk=round((percentile(latency, 99) or 0) / (step_s * 1000), 2),
            )
            emit("decision_ms", p50=percentile(decision, 50), p99=percentile(decision, 99))
            ours_false = len(set(alarms) - should_alarm)
            naive_false = len(naive - should_alarm)
            emit(
                "false_alarms",
                walks=walks,
                ours=ours_false,
                naive_directionless=naive_false,
                naive_missed=len(should_alarm - naive),
            )


def main() -> None:
    logging.getLogger("edge_agent").setLevel(logging.ERROR)  # each alarm's WARNING line: not a figure
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--walks", type=int, default=200)
    parser.add_argument("--step-ms", type=float, default=250.0)
    parser.add_argument("--quick", action="store_true", help="a few walks (the smoke test)")
    args = parser.parse_args()
    asyncio.run(run(12 if args.quick else args.walks, args.step_ms / 1000))


if __name__ == "__main__":
    main()
