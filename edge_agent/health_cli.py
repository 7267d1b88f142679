"""``edge-agent health``: the running daemon's start check, asked over its own /healthz (the
unit's ExecStartPost, and anyone's on the store server)."""

from __future__ import annotations

import argparse
import json
import sys
from typing import TextIO

from edge_agent import __version__

EXIT_OK, EXIT_BAD_INPUT = 0, 2
#: the daemon did not come up (or is not up) with what a lane needs
EXIT_UNHEALTHY = 1


def cmd_health(args: argparse.Namespace, out: TextIO) -> int:
    """Ask the running daemon's /healthz (with the ops token) for its start check, until it is ok
    or ``--wait`` seconds passed: the unit's ExecStartPost, so an upgrade that does not come up
    fails its start, and the package's postinst and the rollout with it (docs/operations.md)."""
    import time

    import httpx

    from edge_agent.config import load_or_explain

    config = load_or_explain(args.config)
    if config is None:
        return EXIT_BAD_INPUT
    http = config.http
    host = "127.0.0.1" if http.host in ("0.0.0.0", "::", "") else http.host
    url = f"{'https' if http.tls_cert else 'http'}://{host}:{http.port}/healthz"
    headers = {"authorization": f"Bearer {http.ops_token}"} if http.ops_token else {}
    deadline = time.monotonic() + args.wait
    while True:
        try:  # its own server on this host: the ops token is the check, not the certificate's name
            report = httpx.get(url, headers=headers, verify=False, timeout=2.0).json()
            verdict = report.get("start") or {"ok": False, "failing": {"http": "no ops token: /healthz details"}}
        except (httpx.HTTPError, ValueError) as e:
            verdict = {"ok": False, "failing": {"http": f"{url}: {e or type(e).__name__}"}}
        if verdict["ok"] or time.monotonic() >= deadline:
            break
        time.sleep(1.0)
    out.write(json.dumps(verdict, ensure_ascii=False) + "\n")
    if not verdict["ok"]:
        print(f"edge-agent {__version__} is not healthy: {verdict['failing']}", file=sys.stderr)
    return EXIT_OK if verdict["ok"] else EXIT_UNHEALTHY


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> list[argparse.ArgumentParser]:
    """The command; returned, as it reads the configuration (for its ``--config``)."""
    health = sub.add_parser("health", help="is the running daemon up with its readers, registers, store, broker?")
    health.add_argument("--wait", type=float, default=0.0, metavar="S", help="keep asking for up to S seconds")
    health.set_defaults(func=cmd_health)
    return [health]
