"""``edge-agent sim utm`` and ``sim max-id``: the store's ЕГАИС УТМ and the digital ID issuer,
each on its own port, for a store's engineers to point an agent at (``[egais] utm_url``,
``[age] max_url``). Joined to ``sim/cli.py``'s sub-commands by ``add_parsers``."""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
from typing import Any, TextIO

from edge_agent.cli import EXIT_OK


def cmd_sim_utm(args: argparse.Namespace, out: TextIO) -> int:
    import asyncio

    from sim.utm import UtmSim

    async def serve() -> None:
        async with UtmSim(args.host, args.port, refuse=args.refuse) as sim:
            out.write(json.dumps({"utm_sim": sim.url, "refuse": args.refuse}) + "\n")
            out.flush()
            await asyncio.Event().wait()

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve())
    return EXIT_OK


def cmd_sim_max_id(args: argparse.Namespace, out: TextIO) -> int:
    """The issuer on its port; each stdin line (an age, default 18) prints a fresh QR text to show
    to a kiosk's scanner (``sim scanner``), valid 30 s, once."""
    import asyncio

    from sim.max_id import MaxIdSim

    async def serve() -> None:
        async with MaxIdSim(args.host, args.port) as sim:
            keys = ", ".join(f'"{k}" = "{v}"' for k, v in sim.keys.items())
            out.write(json.dumps({"max_id_sim": sim.url, "max_issuer_keys": sim.keys}) + "\n")
            out.write(f"[age] max_issuer_keys = {{ {keys} }}\n")
            out.flush()
            loop = asyncio.get_running_loop()
            while line := await loop.run_in_executor(None, sys.stdin.readline):
                age = int(line.strip()) if line.strip().isdigit() else 18
                out.write(sim.issue(age_over=age) + "\n")
                out.flush()
            await asyncio.Event().wait()

    with contextlib.suppress(KeyboardInterrupt):
        asyncio.run(serve())
    return EXIT_OK


def add_parsers(sim: Any) -> None:
    utm = sim.add_parser("utm", help="the store's ЕГАИС УТМ: cheques over HTTP/XML")
    utm.add_argument("--host", default="127.0.0.1")
    utm.add_argument("--port", type=int, default=8080, help="the УТМ's default port")
    utm.add_argument("--refuse", metavar="TEXT", help="refuse every cheque with this error")
    utm.set_defaults(func=cmd_sim_utm)
    max_id = sim.add_parser("max-id", help="the digital ID issuer (age QR codes), over HTTP")
    max_id.add_argument("--host", default="127.0.0.1")
    max_id.add_argument("--port", type=int, default=18090)
    max_id.set_defaults(func=cmd_sim_max_id)
