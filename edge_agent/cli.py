"""``edge-agent``: the command line. Thin: parse arguments, call the core, print, exit.

Exit codes: 0 success, 2 bad input or bad configuration (argparse's usage errors too).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from edge_agent import __version__
from edge_agent.codes import (
    CodeError,
    ParseError,
    check_digit,
    encode_sgtin96,
    encode_sgtin198,
    identity_link,
    parse,
)
from edge_agent.llrp import HEADER_SIZE, Framer, LLRPError, decode_body, decode_tag_reports
from edge_agent.llrp.codec import decode_header
from edge_agent.llrp.schema import MESSAGE_TYPES, MESSAGES

RO_ACCESS_REPORT = MESSAGE_TYPES["RO_ACCESS_REPORT"]

if TYPE_CHECKING:
    from edge_agent.config import Config

EXIT_OK = 0
EXIT_BAD_INPUT = 2


def _result(code: str) -> tuple[dict[str, Any], bool]:
    try:
        return parse(code).to_dict(), True
    except ParseError as e:
        return {"ok": False, "error": e.to_dict(), "error_code": e.code}, False


def _print_human(out: TextIO, result: dict[str, Any]) -> None:
    if not result["ok"]:
        err = result["error"]
        out.write(f"error {err['code']} at {err['position']}: {err['message']}\n")
        return
    for key in ("kind", "gtin", "serial", "ki", "layout", "candidate_groups", "crypto", "extra", "epc_uri"):
        value = result[key]
        if value in (None, {}, []):
            continue
        if isinstance(value, list):
            value = ", ".join(value)
        elif isinstance(value, dict):
            value = " ".join(f"{k}={v}" for k, v in value.items())
        out.write(f"{key + ':':<18}{value}\n")
    if result["separators_inferred"]:
        out.write(f"{'note:':<18}no GS separators in the input; placed by structure\n")


def _lines(stream: Iterable[bytes]) -> Iterable[str]:
    for raw in stream:
        # surrogateescape keeps a raw 0xE8 (FNC1) byte visible to the parser
        yield raw.rstrip(b"\r\n").decode("utf-8", "surrogateescape")


def cmd_code_parse(args: argparse.Namespace, out: TextIO) -> int:
    codes: Iterable[str]
    codes = _lines(sys.stdin.buffer) if args.code == "-" else [args.code]
    status = EXIT_OK
    for code in codes:
        result, ok = _result(code)
        if not ok:
            status = EXIT_BAD_INPUT
        if args.json:
            out.write(json.dumps(result) + "\n")
        else:
            _print_human(out, result)
        out.flush()
    return status


def cmd_code_epc(args: argparse.Namespace, out: TextIO) -> int:
    try:
        if args.scheme == "sgtin-96":
            hex_ = encode_sgtin96(args.gtin, args.serial, args.company_prefix_length, args.filter)
        else:
            hex_ = encode_sgtin198(args.gtin, args.serial, args.company_prefix_length, args.filter)
    except CodeError as e:
        out.write(json.dumps({"ok": False, "error": e.to_dict()}) + "\n")
        return EXIT_BAD_INPUT
    out.write(hex_ + "\n")
    return EXIT_OK


def cmd_code_link(args: argparse.Namespace, out: TextIO) -> int:
    try:
        uri = identity_link(parse(args.code), args.base, with_verification=not args.ki_only)
    except CodeError as e:
        out.write(json.dumps({"ok": False, "error": e.to_dict()}) + "\n")
        return EXIT_BAD_INPUT
    out.write(uri + "\n")
    return EXIT_OK


def _jsonable(value: Any) -> Any:
    if isinstance(value, bytes):
        return value.hex().upper()
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    return value


def _llrp_json(type_: int, message_id: int, body: bytes) -> dict[str, Any]:
    out: dict[str, Any] = {"type": MESSAGES[type_].name, "message_id": message_id}
    if type_ == RO_ACCESS_REPORT:  # the hot path decoder, the one the driver uses
        out["tags"] = [r.to_dict() for r in decode_tag_reports(body)]
    else:
        out.update(_jsonable(decode_body(type_, body)))
    return out


def cmd_llrp_decode(args: argparse.Namespace, out: TextIO) -> int:
    """Decode a capture: whole LLRP messages back to back, or one bare body with --body."""
    raw = sys.stdin.buffer.read() if args.file == "-" else Path(args.file).read_bytes()
    if args.hex:
        try:
            raw = bytes.fromhex("".join(raw.decode("ascii", "replace").split()))
        except ValueError as e:
            out.write(json.dumps({"ok": False, "error": {"code": "bad_hex", "message": str(e), "position": 0}}) + "\n")
            return EXIT_BAD_INPUT
    try:
        if args.body:
            type_ = MESSAGE_TYPES.get(args.body.upper())
            if type_ is None:
                raise LLRPError("unknown_message", f"unknown message type {args.body!r}", 0)
            out.write(json.dumps(_llrp_json(type_, 0, raw)) + "\n")
            return EXIT_OK
        framer = Framer()
        framer.feed(raw)
        offset = 0
        for frame in framer.frames():
            _, type_, _, message_id = decode_header(frame)
            if type_ not in MESSAGES:
                raise LLRPError("unknown_message", f"unknown message type {type_}", offset)
            try:
                out.write(json.dumps(_llrp_json(type_, message_id, frame[HEADER_SIZE:])) + "\n")
            except LLRPError as e:
                e.position += offset + HEADER_SIZE
                raise
            offset += len(frame)
        if framer.pending:
            raise LLRPError("truncated", f"{framer.pending} bytes after the last whole message", offset)
    except LLRPError as e:
        out.write(json.dumps({"ok": False, "error": {"code": e.code, "message": e.message, "position": e.position}}))
        out.write("\n")
        return EXIT_BAD_INPUT
    return EXIT_OK


def cmd_sim_llrp(args: argparse.Namespace, out: TextIO) -> int:
    import asyncio
    import random

    from sim.llrp_reader import LLRPReaderSim, serve_forever

    sim = LLRPReaderSim(args.host, args.port, args.antennas, args.reads_per_s, args.miss_rate, args.seed)
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
        for line in _lines(sys.stdin.buffer):
            sim.scan(line.replace("\\x1d", "\x1d").replace("<GS>", "\x1d").encode("latin-1", "replace"))
    finally:
        sim.unplug()
    return EXIT_OK


EXIT_BLOCKED = 1
EXIT_UNAVAILABLE = 3


def cmd_code_check(args: argparse.Namespace, out: TextIO) -> int:
    import asyncio

    from edge_agent.verify.service import verifier_from_config

    config = _load_config(args)
    if config is None:
        return EXIT_BAD_INPUT
    try:
        item = parse(args.code)
    except ParseError as e:
        out.write(json.dumps({"ok": False, "error": e.to_dict()}) + "\n")
        return EXIT_BAD_INPUT

    async def check() -> dict[str, Any]:
        verifier = await verifier_from_config(config.verify, config.store.timezone, args.backend)
        try:
            (verdict,) = await verifier.verify([item], [args.price])
        finally:
            await verifier.aclose()
        return {"ki": item.ki, **verdict.to_dict()}

    result = asyncio.run(check())
    if args.json:
        out.write(json.dumps(result) + "\n")
    else:
        out.write(f"{result['outcome']} via {result['source'] or 'nothing'}: {item.ki}\n")
        for reason in result["reasons"]:
            out.write(f"  {reason['code']}: {reason['message']}\n")
    return {"ALLOWED": EXIT_OK, "BLOCKED": EXIT_BLOCKED}.get(result["outcome"], EXIT_UNAVAILABLE)


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


def cmd_sim_central(args: argparse.Namespace, out: TextIO) -> int:
    import signal
    import threading

    from sim.central.node import CentralNode
    from sim.central.payment import Settings

    settings = Settings()
    settings.customer_delay_s = args.customer_delay_s
    nodes = [CentralNode(args.db, args.host, args.port, instance=f"{args.name}-{i + 1}", username=args.username,
                         password=args.password, program=args.program, protocol=args.protocol,
                         tls_ca=Path(args.tls_ca) if args.tls_ca else None, settings=settings,
                         events=not args.no_events, shared=not args.no_shared)
             for i in range(args.instances)]  # fmt: skip
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    for node in nodes:
        node.start()
    ready = all(node.ready.wait(10) for node in nodes)
    out.write(json.dumps({"central_sim": [n.instance for n in nodes], "broker": f"{args.host}:{args.port}",
                          "db": str(args.db), "program": args.program, "subscribed": ready}) + "\n")  # fmt: skip
    out.flush()
    with contextlib.suppress(KeyboardInterrupt):
        stop.wait()
    for node in nodes:
        node.stop()
    return EXIT_OK


def cmd_broker_acl(args: argparse.Namespace, out: TextIO) -> int:
    from edge_agent.sync.acl import acl

    stores: dict[str, dict[str, list[str]]] = {}
    for spec in args.agent:
        store, _, rest = spec.partition("/")
        agent, _, lanes = rest.partition("=")
        if not (store and agent and lanes):
            print(f"edge-agent: --agent {spec!r}: write STORE/AGENT=LANE[,LANE...]", file=sys.stderr)
            return EXIT_BAD_INPUT
        stores.setdefault(store, {})[agent] = lanes.split(",")
    try:
        out.write(acl(stores, args.central_user))
    except ValueError as e:
        print(f"edge-agent: {e}", file=sys.stderr)
        return EXIT_BAD_INPUT
    return EXIT_OK


def _load_config(args: argparse.Namespace) -> Config | None:
    """The validated configuration, or None after printing why it is unusable."""
    from edge_agent.config import ConfigError, load  # pydantic: only for commands that need it

    try:
        return load(Path(args.config) if args.config else None)
    except ConfigError as e:
        print(f"edge-agent: configuration error: {e}", file=sys.stderr)
        return None


def cmd_config_check(args: argparse.Namespace, out: TextIO) -> int:
    config = _load_config(args)
    if config is None:
        return EXIT_BAD_INPUT
    out.write(config.model_dump_json(indent=2) + "\n")
    return EXIT_OK


def cmd_run(args: argparse.Namespace, out: TextIO) -> int:
    from edge_agent.daemon import run_forever

    config = _load_config(args)
    if config is None:
        return EXIT_BAD_INPUT
    run_forever(config)
    return EXIT_OK


def cmd_demo(args: argparse.Namespace, out: TextIO) -> int:
    from edge_agent.demo import run

    config = _load_config(args)
    if config is None:
        return EXIT_BAD_INPUT
    return run(config, out, headless=args.headless, shoppers=args.shoppers, seed=args.seed, as_json=args.json)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="edge-agent", description="Self-checkout edge daemon.")
    p.add_argument("--version", action="version", version=f"edge-agent {__version__}")
    p.add_argument("--config", help="configuration file (default: $EDGE_AGENT_CONFIG or config/edge-agent.toml)")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    code = sub.add_parser("code", help="mark codes, EPCs and Digital Links").add_subparsers(
        dest="code_command", required=True, metavar="SUBCOMMAND"
    )
    parse_p = code.add_parser("parse", help="parse one code, or one per stdin line with '-'")
    parse_p.add_argument("code", help="a DataMatrix mark code, a hex EPC, a Digital Link URI, or '-'")
    parse_p.add_argument("--json", action="store_true", help="one JSON object per code (DESIGN.md §3)")
    parse_p.set_defaults(func=cmd_code_parse)

    epc_p = code.add_parser("epc", help="encode an SGTIN EPC (hex) for a GTIN and serial")
    epc_p.add_argument("--gtin", required=True)
    epc_p.add_argument("--serial", required=True)
    epc_p.add_argument("--company-prefix-length", type=int, required=True, help="digits of the GS1 company prefix")
    epc_p.add_argument("--scheme", choices=("sgtin-96", "sgtin-198"), default="sgtin-198")
    epc_p.add_argument("--filter", type=int, default=1, help="EPC filter value (1: point-of-sale item)")
    epc_p.set_defaults(func=cmd_code_epc)

    check_code = code.add_parser("check", help="ask the national system whether this item may be sold")
    check_code.add_argument("code")
    check_code.add_argument(
        "--backend",
        choices=("ts_piot", "true_api", "local", "chain"),
        default="chain",
        help="one service, or the chain: online (verify.backend) then the Local Module",
    )
    check_code.add_argument("--price", type=int, help="unit price in kopecks (tobacco price range)")
    check_code.add_argument("--json", action="store_true")
    check_code.set_defaults(func=cmd_code_check)

    link_p = code.add_parser("link", help="the GS1 Digital Link of any code")
    link_p.add_argument("code")
    link_p.add_argument("--base", default="https://id.gs1.org", help="scheme and host (and path prefix)")
    link_p.add_argument("--ki-only", action="store_true", help="leave the verification part out")
    link_p.set_defaults(func=cmd_code_link)

    llrp = sub.add_parser("llrp", help="LLRP tools for field engineers").add_subparsers(
        dest="llrp_command", required=True, metavar="SUBCOMMAND"
    )
    decode_p = llrp.add_parser("decode", help="decode a capture of LLRP messages, one JSON object per message")
    decode_p.add_argument("file", help="capture file (binary), or '-' for stdin")
    decode_p.add_argument("--hex", action="store_true", help="the input is hex text (whitespace ignored)")
    decode_p.add_argument("--body", metavar="TYPE", help="the input is one message body of TYPE, without header")
    decode_p.set_defaults(func=cmd_llrp_decode)

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
    crpt_sim.add_argument("--code", action="append", metavar="STATE=CODE",
                          help="register a code, e.g. sellable='0104...<GS>93dGVz' (repeatable)")  # fmt: skip
    crpt_sim.add_argument("--latency-ms", type=float, default=0)
    crpt_sim.add_argument("--hang", action="append", choices=("ts_piot", "true_api", "lm"),
                          help="this service accepts requests and never answers")  # fmt: skip
    crpt_sim.set_defaults(func=cmd_sim_crpt)

    central_sim = sim.add_parser(
        "central", help="central loyalty and payment services over MQTT (shared subscriptions)"
    )
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
    central_sim.add_argument("--no-shared", action="store_true",
                             help="plain subscriptions: one instance, for brokers without $share "
                                  "(the embedded one)")  # fmt: skip
    central_sim.set_defaults(func=cmd_sim_central)

    broker = sub.add_parser("broker", help="MQTT broker set-up").add_subparsers(
        dest="broker_command", required=True, metavar="SUBCOMMAND"
    )
    acl_p = broker.add_parser("acl", help="print a Mosquitto acl_file: one user per agent, one for central")
    acl_p.add_argument("--agent", action="append", required=True, metavar="STORE/AGENT=LANE[,LANE]",
                       help="an agent and the lanes it owns (repeatable)")  # fmt: skip
    acl_p.add_argument("--central-user", default="central")
    acl_p.set_defaults(func=cmd_broker_acl)

    config = sub.add_parser("config", help="configuration").add_subparsers(
        dest="config_command", required=True, metavar="SUBCOMMAND"
    )
    check_p = config.add_parser("check", help="validate and print the effective configuration")
    check_p.set_defaults(func=cmd_config_check)

    run_p = sub.add_parser("run", help="run the daemon (readers, lanes, baskets) until SIGTERM")
    run_p.set_defaults(func=cmd_run)

    demo_p = sub.add_parser("demo", help="run the whole store on this machine: simulators, daemon, pages")
    demo_p.add_argument("--headless", action="store_true", help="no pages to play with: run automated shoppers")
    demo_p.add_argument("--shoppers", type=int, default=20, help="how many shoppers (headless)")
    demo_p.add_argument("--seed", type=int, default=7, help="the shoppers' random seed")
    demo_p.add_argument("--json", action="store_true", help="only the JSON summary (its last line either way)")
    demo_p.set_defaults(func=cmd_demo)
    for needs_config in (run_p, check_p, check_code, demo_p):
        # `edge-agent run --config FILE` as well as `edge-agent --config FILE run`
        needs_config.add_argument("--config", default=argparse.SUPPRESS, help="configuration file")
    return p


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        status: int = args.func(args, sys.stdout)
    except BrokenPipeError:  # `edge-agent code parse - | head`
        sys.stderr.close()
        return EXIT_OK
    return status


if __name__ == "__main__":
    sys.exit(main())
