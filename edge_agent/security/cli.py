"""The provisioning commands (docs/security.md): ``edge-agent device provision|list|revoke``,
``edge-agent staff hash-pin``, ``edge-agent tls ca|cert``."""

from __future__ import annotations

import argparse
import getpass
import json
import sys
from pathlib import Path
from typing import TextIO

EXIT_OK, EXIT_BAD_INPUT = 0, 2


def _config(args: argparse.Namespace):  # type: ignore[no-untyped-def]
    from edge_agent.config import load_or_explain

    return load_or_explain(args.config)


def _devices(args: argparse.Namespace):  # type: ignore[no-untyped-def]
    from edge_agent.db import Database
    from edge_agent.security.devices import Devices
    from edge_agent.security.records import DeviceRecords

    config = _config(args)
    if config is None:
        return None, None
    return config, Devices(DeviceRecords(Database(config.agent.data_dir / "edge-agent.db")))


def cmd_provision(args: argparse.Namespace, out: TextIO) -> int:
    from edge_agent.security.devices import Device

    config, devices = _devices(args)
    if devices is None:
        return EXIT_BAD_INPUT
    lanes, staff_readers = {lane.id for lane in config.lanes}, {r.id for r in config.readers if r.role == "staff"}
    if args.kind == "kiosk":
        if args.name not in lanes:
            print(
                f"edge-agent: no lane {args.name!r} in the configuration (lanes: {', '.join(sorted(lanes))})",
                file=sys.stderr,
            )
            return EXIT_BAD_INPUT
        device = Device(f"kiosk-{args.name}", "kiosk", lane=args.name)
    else:
        if args.reader is not None and args.reader not in staff_readers:
            print(
                f'edge-agent: {args.reader!r} is not a reader with role = "staff" '
                f"(staff readers: {', '.join(sorted(staff_readers)) or 'none'})",
                file=sys.stderr,
            )
            return EXIT_BAD_INPUT
        device = Device(args.name, "handheld", reader=args.reader)
    made = devices.provision(device, enrol=not args.token)
    scheme = "https" if config.http.tls_cert is not None else "http"
    base = args.base_url or f"{scheme}://{config.http.host}:{config.http.port}"
    result: dict[str, object] = {
        "device": device.name,
        "kind": device.kind,
        "lane": device.lane,
        "reader": device.reader,
    }
    if args.token:
        result |= {"token": made.token, "header": "X-Device-Token"}
    else:
        result |= {"enrol_url": base.rstrip("/") + made.enrol_path(), "expires_in": 86400}
    if args.json:
        out.write(json.dumps(result) + "\n")
    elif args.token:
        out.write(f"{device.name}: send this as the X-Device-Token header (shown once):\n{made.token}\n")
    else:
        out.write(
            f"{device.name}: open this once in the device's browser within 24 h (it sets the device's "
            f"cookie):\n{result['enrol_url']}\n"
        )
    return EXIT_OK


def cmd_list(args: argparse.Namespace, out: TextIO) -> int:
    _, devices = _devices(args)
    if devices is None:
        return EXIT_BAD_INPUT
    for row in devices.records.summaries():
        out.write(json.dumps(row.to_dict()) + "\n")
    return EXIT_OK


def cmd_revoke(args: argparse.Namespace, out: TextIO) -> int:
    _, devices = _devices(args)
    if devices is None:
        return EXIT_BAD_INPUT
    if not devices.revoke(args.name):
        print(f"edge-agent: no live device {args.name!r}", file=sys.stderr)
        return EXIT_BAD_INPUT
    out.write(f"{args.name}: revoked (every credential it had)\n")
    return EXIT_OK


def cmd_hash_pin(args: argparse.Namespace, out: TextIO) -> int:
    from edge_agent.security.pins import hash_pin

    pin = sys.stdin.readline().strip() if args.stdin else getpass.getpass("PIN: ")
    if not (pin.isdigit() and 4 <= len(pin) <= 12):
        print("edge-agent: a PIN is 4 to 12 digits", file=sys.stderr)
        return EXIT_BAD_INPUT
    out.write(hash_pin(pin) + "\n")
    return EXIT_OK


def cmd_tls_ca(args: argparse.Namespace, out: TextIO) -> int:
    from edge_agent.security.tls import make_ca

    d = Path(args.dir)
    make_ca(d / "ca.crt", d / "ca.key", args.name)
    out.write(f"{d / 'ca.crt'}: install it on the kiosks and handhelds; keep {d / 'ca.key'} on this server only\n")
    return EXIT_OK


def cmd_tls_cert(args: argparse.Namespace, out: TextIO) -> int:
    from edge_agent.security.tls import make_cert

    ca = Path(args.ca_dir)
    d = Path(args.dir)
    make_cert(ca / "ca.crt", ca / "ca.key", d / "server.crt", d / "server.key", hosts=args.host)
    out.write(f"{d / 'server.crt'} for {', '.join(args.host)}: set http.tls_cert and http.tls_key\n")
    return EXIT_OK


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> list[argparse.ArgumentParser]:
    """The commands; returns those that read the configuration (for their ``--config``)."""
    device = sub.add_parser("device", help="kiosk and handheld credentials").add_subparsers(
        dest="device_command", required=True, metavar="SUBCOMMAND"
    )
    prov = device.add_parser("provision", help="a credential for a lane's kiosk or a staff handheld")
    prov.add_argument("kind", choices=("kiosk", "handheld"))
    prov.add_argument("name", help="kiosk: the lane id; handheld: its name")
    prov.add_argument("--reader", help='handheld: its staff reader (role = "staff"), where badges are tapped')
    prov.add_argument("--token", action="store_true", help="print a token for a program instead of an enrolment link")
    prov.add_argument("--base-url", help="where the devices reach this daemon (default: http.host and port)")
    prov.add_argument("--json", action="store_true")
    prov.set_defaults(func=cmd_provision)
    lst = device.add_parser("list", help="the devices and how many credentials each has")
    lst.set_defaults(func=cmd_list)
    rev = device.add_parser("revoke", help="revoke every credential of a device (a lost handheld)")
    rev.add_argument("name")
    rev.set_defaults(func=cmd_revoke)

    staff = sub.add_parser("staff", help="staff credentials").add_subparsers(
        dest="staff_command", required=True, metavar="SUBCOMMAND"
    )
    hp = staff.add_parser("hash-pin", help="print a PIN's scrypt hash for [[staff]] pin_hash")
    hp.add_argument("--stdin", action="store_true", help="read the PIN from stdin (no prompt)")
    hp.set_defaults(func=cmd_hash_pin)

    tls = sub.add_parser("tls", help="the store's certificates").add_subparsers(
        dest="tls_command", required=True, metavar="SUBCOMMAND"
    )
    ca = tls.add_parser("ca", help="make the store's CA (once)")
    ca.add_argument("--dir", required=True)
    ca.add_argument("--name", default="edge-agent store CA")
    ca.set_defaults(func=cmd_tls_ca)
    cert = tls.add_parser("cert", help="a server certificate for this daemon, signed by the store's CA")
    cert.add_argument("--ca-dir", required=True)
    cert.add_argument("--dir", required=True)
    cert.add_argument("--host", action="append", required=True, help="a name or address it answers on (repeatable)")
    cert.set_defaults(func=cmd_tls_cert)
    return [prov, lst, rev]
