"""``edge-agent``: the command line. Thin: parse arguments, call the core, print, exit.

The simulators' and the demo's commands (``edge-agent sim …``, ``edge-agent demo``) live in
``sim/cli.py`` and join through the ``edge_agent.commands`` entry point: the product never
imports ``sim``.

Exit codes: 0 success, 2 bad input or bad configuration (argparse's usage errors too).
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterable, Sequence
from importlib.metadata import entry_points
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from edge_agent import __version__
from edge_agent.codes import (
    CodeError,
    ParseError,
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
#: the database was written by a newer edge-agent (a downgrade): not restarted by the unit
EXIT_NEWER_DATABASE = 65
#: entry points that add sub-commands: ``register(subparsers)`` (docs/adr/0012-simulators-out-of-the-product.md)
COMMAND_PLUGINS = "edge_agent.commands"


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


def input_lines(stream: Iterable[bytes]) -> Iterable[str]:
    """Lines of a byte stream as the code parser wants them (stdin of `code parse`, `sim scanner`)."""
    for raw in stream:
        # surrogateescape keeps a raw 0xE8 (FNC1) byte visible to the parser
        yield raw.rstrip(b"\r\n").decode("utf-8", "surrogateescape")


def cmd_code_parse(args: argparse.Namespace, out: TextIO) -> int:
    codes: Iterable[str]
    codes = input_lines(sys.stdin.buffer) if args.code == "-" else [args.code]
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
            hex_ = encode_sgtin198(args.gtin, args.serial, args.company_prefix_length, filter_=args.filter)
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


EXIT_BLOCKED = 1
EXIT_UNAVAILABLE = 3


def cmd_code_check(args: argparse.Namespace, out: TextIO) -> int:
    import asyncio

    from edge_agent.verify.registry import verifier_from_config

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
        out.write(acl(stores, args.central_user, bridges=args.bridges))
    except ValueError as e:
        print(f"edge-agent: {e}", file=sys.stderr)
        return EXIT_BAD_INPUT
    return EXIT_OK


def _load_config(args: argparse.Namespace) -> Config | None:
    """The validated configuration, or None after printing why it is unusable."""
    from edge_agent.config import load_or_explain  # pydantic: only for commands that need it

    return load_or_explain(args.config)


def cmd_config_check(args: argparse.Namespace, out: TextIO) -> int:
    config = _load_config(args)
    if config is None:
        return EXIT_BAD_INPUT
    from edge_agent.security.secrets import masked

    out.write(json.dumps(masked(config), indent=2, ensure_ascii=False) + "\n")  # secrets as ***
    return EXIT_OK


def cmd_run(args: argparse.Namespace, out: TextIO) -> int:
    from edge_agent.db.database import NewerDatabase
    from edge_agent.run import run_forever

    config = _load_config(args)
    if config is None:
        return EXIT_BAD_INPUT
    try:
        run_forever(config)
    except NewerDatabase as e:
        print(f"edge-agent {__version__} will not start: {e}", file=sys.stderr)
        return EXIT_NEWER_DATABASE
    return EXIT_OK


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="edge-agent", description="Self-checkout edge daemon.")
    p.add_argument("--version", action="version", version=f"edge-agent {__version__}")
    p.add_argument(
        "--config",
        help="configuration file (default: $EDGE_AGENT_CONFIG, else config/edge-agent.toml, "
        "else /etc/edge-agent/edge-agent.toml)",
    )
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    code = sub.add_parser("code", help="mark codes, EPCs and Digital Links").add_subparsers(
        dest="code_command", required=True, metavar="SUBCOMMAND"
    )
    parse_p = code.add_parser("parse", help="parse one code, or one per stdin line with '-'")
    parse_p.add_argument("code", help="a DataMatrix mark code, a hex EPC, a Digital Link URI, or '-'")
    parse_p.add_argument("--json", action="store_true", help="one JSON object per code (docs/codes.md)")
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

    broker = sub.add_parser("broker", help="MQTT broker set-up").add_subparsers(
        dest="broker_command", required=True, metavar="SUBCOMMAND"
    )
    acl_p = broker.add_parser("acl", help="print a Mosquitto acl_file: one user per agent, one for central")
    acl_p.add_argument(
        "--agent",
        action="append",
        required=True,
        metavar="STORE/AGENT=LANE[,LANE]",
        help="an agent and the lanes it owns (repeatable)",
    )
    acl_p.add_argument("--central-user", default="central")
    acl_p.add_argument(
        "--bridges",
        action="store_true",
        help="for central's broker: also a user per store's bridge (config/mosquitto/bridge.conf)",
    )
    acl_p.set_defaults(func=cmd_broker_acl)

    config = sub.add_parser("config", help="configuration").add_subparsers(
        dest="config_command", required=True, metavar="SUBCOMMAND"
    )
    check_p = config.add_parser("check", help="validate and print the effective configuration")
    check_p.set_defaults(func=cmd_config_check)

    run_p = sub.add_parser("run", help="run the daemon (readers, lanes, baskets) until SIGTERM")
    run_p.set_defaults(func=cmd_run)
    from edge_agent.health_cli import register as health_commands
    from edge_agent.security.cli import register as security_commands

    for needs_config in (run_p, check_p, check_code, *health_commands(sub), *security_commands(sub)):
        # `edge-agent run --config FILE` as well as `edge-agent --config FILE run`
        needs_config.add_argument("--config", default=argparse.SUPPRESS, help="configuration file")
    for plugin in entry_points(group=COMMAND_PLUGINS):  # e.g. `sim` and `demo`, from sim/cli.py
        try:
            register = plugin.load()
        except ImportError:  # a server without the simulators: their commands are simply not there
            continue
        register(sub)
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
