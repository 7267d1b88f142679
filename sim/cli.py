"""The simulators' and the demo's sub-commands of ``edge-agent``: ``sim llrp|pcsc|nfc|scanner|
crpt|kkt|central|utm|max-id`` and ``demo``. They join the product's command line through the
``edge_agent.commands`` entry point (pyproject.toml), so ``edge_agent`` never imports ``sim``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
from pathlib import Path
from typing import Any, TextIO

from edge_agent.cli import EXIT_BAD_INPUT, EXIT_OK, input_lines
from edge_agent.codes import check_digit, encode_sgtin96
from edge_agent.config import load_or_explain
from sim.cli_services import add_parsers


def cmd_sim_llrp(args: argparse.Namespace, out: TextIO) -> int:
    import asyncio
    import random

    from sim.llrp_reader import LLRPReaderSim, serve_forever

    connected = tuple(int(a) for a in args.connected.split(",")) if args.connected else None
    sim = LLRPReaderSim(
        args.host,
        args.port,
        antennas=args.antennas,
        reads_per_s=args.reads_per_s,
        miss_rate=args.miss_rate,
        seed=args.seed,
        gpos=args.gpos,
        profile=args.profile,
        connected=connected,
    )
    rng = random.Random(args.seed)
    for i in range(args.tags):
        body = f"46{rng.randrange(10**10):010d}"
        gtin = "0" + body + str(check_digit("0" + body))
        sim.place(encode_sgtin96(gtin, str(rng.randrange(1, 2**38)), 7), antenna=1 + i % args.antennas)

    def ready(s: LLRPReaderSim) -> None:
        out.write(f"llrp sim listening on {s.host}:{s.port} with {len(s.tags)} tags on {s.antennas} antennas\n")
        out.flush()

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve_forever(sim, ready))
    return EXIT_OK


def _wait_for_interrupt() -> None:
    import signal
    import threading

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    with contextlib.suppress(KeyboardInterrupt):
        stop.wait()


def cmd_sim_pcsc(args: argparse.Namespace, out: TextIO) -> int:
    from sim.pcsc_card import PcscCardSim, VirtualNtag

    uid = bytes.fromhex(args.uid)
    tag = VirtualNtag.with_uri(uid, args.uri) if args.uri else VirtualNtag.with_text(uid, args.text or "")
    sim = PcscCardSim(args.port, args.host)
    sim.place(tag)
    out.write(f"pcsc sim: tag {args.uid} on the vpcd reader at {args.host}:{args.port}; Ctrl-C lifts it\n")
    out.flush()
    _wait_for_interrupt()
    sim.lift()
    return EXIT_OK


def cmd_sim_nfc(args: argparse.Namespace, out: TextIO) -> int:
    from sim.nfc_tag import NfcTagSim

    sim = NfcTagSim(args.port, args.host)
    sim.place(uri=args.uri) if args.uri else sim.place(text=args.text or "")
    out.write(f"nfc sim: Type 3 tag on {sim.path}; Ctrl-C lifts it\n")
    out.flush()
    _wait_for_interrupt()
    sim.lift()
    return EXIT_OK


def cmd_sim_scanner(args: argparse.Namespace, out: TextIO) -> int:
    from sim.scanner import ScannerSim

    sim = ScannerSim(Path(args.link))
    sim.plug()
    out.write(f"scanner sim on {args.link}: one code per stdin line (\\x1d or <GS> for GS)\n")
    out.flush()
    try:
        for line in input_lines(sys.stdin.buffer):
            sim.scan(line.replace("\\x1d", "\x1d").replace("<GS>", "\x1d").encode("latin-1", "replace"))
    finally:
        sim.unplug()
    return EXIT_OK


def cmd_sim_crpt(args: argparse.Namespace, out: TextIO) -> int:
    import asyncio

    from sim.crpt import STATES, CrptSim

    async def serve() -> None:
        async with CrptSim(base_port=args.base_port) as sim:
            for line in args.code or ():
                state, _, code = line.partition("=")
                sim.registry.add(code.replace("<GS>", "\x1d").replace("\\x1d", "\x1d"), state)
            sim.ts_piot.latency_s = sim.lm.latency_s = args.latency_ms / 1000
            for host in sim.hosts:
                host.latency_s = args.latency_ms / 1000
            for name in args.hang or ():
                behaviour = {"ts_piot": sim.ts_piot, "lm": sim.lm}.get(name)
                for b in [behaviour] if behaviour else sim.hosts if name == "true_api" else []:
                    b.hang = True
            urls = {name: sim.url(name) for name in ("ts_piot", "cdn", "lm")}
            out.write(json.dumps({"crpt_sim": urls, "hosts": sim.host_urls, "states": sorted(STATES)}) + "\n")
            out.flush()
            await asyncio.Event().wait()

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve())
    return EXIT_OK


def cmd_sim_kkt(args: argparse.Namespace, out: TextIO) -> int:
    import asyncio

    from sim.kkt import Device, KktSim

    async def serve() -> None:
        timing = {"task_s": args.print_ms / 1000, "validation_s": args.check_ms / 1000}
        devices = {d: Device(**timing) for d in args.device or ["default"]}
        sim = await KktSim(devices, port=args.port).start()
        out.write(json.dumps({"kkt_sim": f"{sim.url}/api/v2", "devices": list(devices)}) + "\n")
        out.flush()
        try:
            await asyncio.Event().wait()
        finally:
            await sim.stop()

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve())
    return EXIT_OK


def cmd_sim_central(args: argparse.Namespace, out: TextIO) -> int:
    if args.action == "status":
        return _central_status(args, out)
    from sim.central.node import CentralNode
    from sim.central.payment import Settings

    settings = Settings()
    settings.customer_delay_s = args.customer_delay_s
    if args.amqp:  # on a RabbitMQ cluster: competing consumers of quorum queues
        from sim.central.amqp import AmqpCentral

        addresses = [(h, int(p)) for h, _, p in (a.rpartition(":") for a in args.amqp.split(","))]
        first = [(args.first_node + i) % len(addresses) for i in range(args.instances)]
        nodes: list[CentralNode] = [
            AmqpCentral(
                args.db,
                addresses[first[i] :] + addresses[: first[i]],
                instance=f"{args.name}-{i + 1}",
                username=args.username or "central",
                password=args.password or "",
                program=args.program,
                settings=settings,
            )
            for i in range(args.instances)
        ]
        return _serve_central(nodes, args, out)
    # several instances: each its own user ({username}-{n}), as the broker's use_username_as_clientid wants
    users = [
        args.username if args.instances == 1 or not args.username else f"{args.username}-{i + 1}"
        for i in range(args.instances)
    ]
    nodes = [
        CentralNode(
            args.db,
            args.host,
            args.port,
            instance=f"{args.name}-{i + 1}",
            username=users[i],
            password=args.password,
            program=args.program,
            protocol=args.protocol,
            tls_ca=Path(args.tls_ca) if args.tls_ca else None,
            settings=settings,
            events=not args.no_events,
            shared=not args.no_shared,
        )
        for i in range(args.instances)
    ]
    return _serve_central(nodes, args, out)


def _central_status(args: argparse.Namespace, out: TextIO) -> int:
    """Which stores need attention (the fleet view), from central's database; exit 1 if any."""
    import sqlite3
    import time

    from sim.central.fleet import attention

    with contextlib.closing(sqlite3.connect(f"file:{args.db}?mode=ro", uri=True)) as conn:
        rows = conn.execute("SELECT store, agent, state, data, at FROM agents ORDER BY store, agent").fetchall()
    findings = attention(rows, time.time(), args.stale_s)
    if args.json:
        out.write(json.dumps({"agents": len(rows), "attention": findings}, ensure_ascii=False) + "\n")
    else:
        out.write(f"{len(rows)} agents, {len(findings)} need attention\n")
        for f in findings:
            out.write(f"  {f['store']}/{f['agent']}: " + "; ".join(f["reasons"]) + "\n")
    return 1 if findings else EXIT_OK


def _serve_central(nodes: list[Any], args: argparse.Namespace, out: TextIO) -> int:
    import signal
    import threading

    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    for node in nodes:
        node.start()
    ready = all(node.ready.wait(10) for node in nodes)
    out.write(
        json.dumps(
            {
                "central_sim": [n.instance for n in nodes],
                "broker": f"{args.host}:{args.port}",
                "db": str(args.db),
                "program": args.program,
                "subscribed": ready,
            }
        )
        + "\n"
    )
    out.flush()
    with contextlib.suppress(KeyboardInterrupt):
        stop.wait()
    for node in nodes:
        node.stop()
    return EXIT_OK


def cmd_demo(args: argparse.Namespace, out: TextIO) -> int:
    from sim.demo import run

    config = load_or_explain(args.config)
    if config is None:
        return EXIT_BAD_INPUT
    return run(config, out, headless=args.headless, shoppers=args.shoppers, seed=args.seed, as_json=args.json)


def register(sub: Any) -> None:
    """Add ``sim …`` and ``demo`` to the ``edge-agent`` sub-commands."""
    sim = sub.add_parser("sim", help="run a simulated device").add_subparsers(
        dest="sim_command", required=True, metavar="DEVICE"
    )
    llrp_sim = sim.add_parser("llrp", help="a UHF RFID reader speaking LLRP over TCP")
    llrp_sim.add_argument("--host", default="127.0.0.1")
    llrp_sim.add_argument("--port", type=int, default=5084)
    llrp_sim.add_argument("--antennas", type=int, default=4)
    llrp_sim.add_argument("--tags", type=int, default=10, help="random SGTIN-96 tags placed in the field")
    llrp_sim.add_argument("--reads-per-s", type=float, default=500, help="at most 1500")
    llrp_sim.add_argument("--miss-rate", type=float, default=0.05)
    llrp_sim.add_argument("--seed", type=int, default=None)
    llrp_sim.add_argument(
        "--profile",
        choices=("generic", "impinj", "zebra"),
        default="generic",
        help="answer as an Impinj (Octane extensions) or a Zebra FX reader (docs/readers.md)",
    )
    llrp_sim.add_argument("--connected", help="the antennas with a cable, e.g. 1,4 (default: all)")
    llrp_sim.add_argument("--gpos", type=int, default=0, help="general-purpose outputs (a gate's light)")
    llrp_sim.set_defaults(func=cmd_sim_llrp)

    pcsc_sim = sim.add_parser("pcsc", help="an NTAG on a vpcd reader slot (pcscd with vsmartcard-vpcd)")
    pcsc_sim.add_argument("--host", default="127.0.0.1")
    pcsc_sim.add_argument("--port", type=int, default=35963, help="the vpcd slot's port")
    pcsc_sim.add_argument("--uid", default="04A1B2C3D4E5F6", help="7-byte UID in hex")
    content = pcsc_sim.add_mutually_exclusive_group(required=True)
    content.add_argument("--uri", help="NDEF URI record, e.g. a GS1 Digital Link")
    content.add_argument("--text", help="NDEF Text record, e.g. a mark code")
    pcsc_sim.set_defaults(func=cmd_sim_pcsc)

    nfc_sim = sim.add_parser("nfc", help="a Type 3 tag over nfcpy's UDP frontend")
    nfc_sim.add_argument("--host", default="127.0.0.1")
    nfc_sim.add_argument("--port", type=int, default=54321)
    content = nfc_sim.add_mutually_exclusive_group(required=True)
    content.add_argument("--uri")
    content.add_argument("--text")
    nfc_sim.set_defaults(func=cmd_sim_nfc)

    scanner_sim = sim.add_parser("scanner", help="a 2D scanner on a pseudo-terminal, scanning stdin lines")
    scanner_sim.add_argument("--link", default="/tmp/edge-agent-scanner", help="stable path to the pty")
    scanner_sim.set_defaults(func=cmd_sim_scanner)

    crpt_sim = sim.add_parser("crpt", help="TS PIoT, True API (CDN + hosts) and Local Module over HTTP")
    crpt_sim.add_argument("--base-port", type=int, default=18080, help="TS PIoT, CDN, Local Module, hosts from here")
    crpt_sim.add_argument(
        "--code",
        action="append",
        metavar="STATE=CODE",
        help="register a code, e.g. sellable='0104...<GS>93dGVz' (repeatable)",
    )
    crpt_sim.add_argument("--latency-ms", type=float, default=0)
    crpt_sim.add_argument(
        "--hang",
        action="append",
        choices=("ts_piot", "true_api", "lm"),
        help="this service accepts requests and never answers",
    )
    crpt_sim.set_defaults(func=cmd_sim_crpt)

    add_parsers(sim)  # sim utm, sim max-id (sim/cli_services.py)

    kkt_sim = sim.add_parser("kkt", help="ATOL's Web-server with fiscal registers (ККТ) over HTTP")
    kkt_sim.add_argument("--port", type=int, default=16732, help="ATOL's default port")
    kkt_sim.add_argument(
        "--device",
        action="append",
        default=None,
        metavar="ID",
        help="a register's deviceID (repeatable; default: one named 'default')",
    )
    kkt_sim.add_argument("--print-ms", type=float, default=800, help="time to print a document")
    kkt_sim.add_argument("--check-ms", type=float, default=150, help="time of one mark-code check")
    kkt_sim.set_defaults(func=cmd_sim_kkt)

    central_sim = sim.add_parser(
        "central", help="central loyalty and payment services over MQTT (shared subscriptions)"
    )
    central_sim.add_argument(
        "action",
        nargs="?",
        choices=("serve", "status"),
        default="serve",
        help="serve (default): run the services; status: which stores need attention",
    )
    central_sim.add_argument("--stale-s", type=float, default=90.0, help="status: an agent silent this long is lost")
    central_sim.add_argument("--json", action="store_true", help="status: one JSON object")
    central_sim.add_argument("--host", default="127.0.0.1")
    central_sim.add_argument("--port", type=int, default=1883)
    central_sim.add_argument("--username", default=None)
    central_sim.add_argument("--password", default=None)
    central_sim.add_argument("--protocol", choices=("5", "3.1.1"), default="5")
    central_sim.add_argument("--tls-ca", default=None, help="CA file: connect with TLS")
    central_sim.add_argument("--db", default="var/central.db", help="the services' database (instances share it)")
    central_sim.add_argument("--instances", type=int, default=1, help="instances in this process")
    central_sim.add_argument("--name", default="central", help="instance name prefix")
    central_sim.add_argument("--program", choices=("magnit_like", "x5_legacy"), default="magnit_like")
    central_sim.add_argument("--customer-delay-s", type=float, default=0.05, help="how long a customer takes to pay")
    central_sim.add_argument("--no-events", action="store_true", help="do not consume the agents' events")
    central_sim.add_argument(
        "--amqp",
        default=None,
        metavar="HOST:PORT[,HOST:PORT…]",
        help="consume from a RabbitMQ cluster's quorum queues over AMQP instead of MQTT (every node's address)",
    )
    central_sim.add_argument("--first-node", type=int, default=0, help="with --amqp: the node instance 1 tries first")
    central_sim.add_argument(
        "--no-shared",
        action="store_true",
        help="plain subscriptions: one instance, for brokers without $share (the embedded one)",
    )
    central_sim.set_defaults(func=cmd_sim_central)

    demo_p = sub.add_parser("demo", help="run the whole store on this machine: simulators, daemon, pages")
    demo_p.add_argument("--headless", action="store_true", help="no pages to play with: run automated shoppers")
    demo_p.add_argument("--shoppers", type=int, default=20, help="how many shoppers (headless)")
    demo_p.add_argument("--seed", type=int, default=7, help="the shoppers' random seed")
    demo_p.add_argument("--json", action="store_true", help="only the JSON summary (its last line either way)")
    demo_p.set_defaults(func=cmd_demo)
    demo_p.add_argument("--config", default=argparse.SUPPRESS, help="configuration file")
