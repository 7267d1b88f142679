"""Identity-layer throughput against the reference libraries, side by side in one process.

- mark codes: ``edge_agent.codes.parse`` vs ``biip.parse`` on the same GS1 mark codes;
- EPC decode: ``edge_agent.codes.parse`` (and the bare ``decode_sgtin96/198``) vs
  ``pyepc.decode`` on the same hex EPCs.

Workloads are generated from a fixed seed. "store" workloads draw many serials from a
catalogue of 200 GTINs (what a shop's readers see); "cold" workloads give every code its
own GTIN and clear our memo tables before each pass (the worst case for us). Before
timing, every input is checked to decode to the same GTIN and serial in both libraries.

Prints one JSON line per figure: rates in codes/s (best of several passes), and the ratio.
Run: ``make bench`` or ``.venv/bin/python bench/codes.py [--quick]``.
"""

from __future__ import annotations

import argparse
import base64
import gc
import json
import platform
import random
import sys
import time
from collections.abc import Callable, Sequence
from importlib.metadata import version as _version
from typing import Any

import biip
import pyepc

from edge_agent.codes import (
    CSET82,
    GS,
    check_digit,
    decode_sgtin96,
    decode_sgtin198,
    encode_sgtin96,
    encode_sgtin198,
    parse,
)
from edge_agent.codes import epc as epc_module
from edge_agent.codes import gs1 as gs1_module

SERIAL_CHARS = CSET82.replace("<", "")  # keep "<GS>" out of serials: biip gets the real GS byte anyway


def _gtin(rng: random.Random, prefix: str = "46") -> str:
    body = prefix + "".join(rng.choice("0123456789") for _ in range(11 - len(prefix) + 2))
    body = ("0" + body)[:13]
    return body + str(check_digit(body))


def _text(rng: random.Random, n: int, alphabet: str = SERIAL_CHARS) -> str:
    return "".join(rng.choice(alphabet) for _ in range(n))


def mark_codes(rng: random.Random, n: int, catalogue: int | None) -> list[str]:
    """Chestny Znak codes of the main layouts: shoes (88), clothes (44), milk, water, beer."""
    gtins = [_gtin(rng) for _ in range(catalogue or n)]
    b64 = lambda k: base64.b64encode(rng.randbytes(k)).decode()  # noqa: E731
    codes = []
    for i in range(n):
        gtin = gtins[i % len(gtins)] if catalogue else gtins[i]
        kind = i % 5
        if kind == 0:
            codes.append(f"01{gtin}21{_text(rng, 13)}{GS}2406403{GS}91{_text(rng, 4)}{GS}92{b64(66)}")
        elif kind == 1:
            codes.append(f"01{gtin}21{_text(rng, 13)}{GS}91{_text(rng, 4)}{GS}92{b64(33)}")
        elif kind == 2:
            codes.append(f"01{gtin}21{_text(rng, 6)}{GS}93{_text(rng, 4)}{GS}3103{rng.randrange(10**6):06d}")
        elif kind == 3:
            codes.append(f"01{gtin}21{_text(rng, 13)}{GS}93{_text(rng, 4)}")
        else:
            codes.append(f"01{gtin}21{_text(rng, 7)}{GS}93{_text(rng, 4)}")
    return codes


def epcs(rng: random.Random, n: int, catalogue: int | None, scheme: str) -> list[str]:
    gtins = [_gtin(rng) for _ in range(catalogue or n)]
    out = []
    for i in range(n):
        gtin = gtins[i % len(gtins)] if catalogue else gtins[i]
        if scheme == "sgtin-96":
            out.append(encode_sgtin96(gtin, str(rng.randrange(1, 2**38)), 7))
        else:
            out.append(encode_sgtin198(gtin, _text(rng, 13), 7))
    return out


def _biip_parts(code: str) -> tuple[str, str]:
    msg = biip.parse(code).gs1_message
    assert msg is not None
    values = {e.ai.ai: e.value for e in msg.element_strings}
    return values["01"], values["21"]


def _pyepc_parts(hex_: str) -> tuple[str, str]:
    e = pyepc.decode(hex_)
    return e.gtin, str(e.serial_number)


def best_rate(fn: Callable[[str], object], inputs: Sequence[str], seconds: float, before: Callable[[], None]) -> float:
    """Codes per second: the best of repeated full passes over ``inputs`` within ``seconds``."""
    best = float("inf")
    deadline = time.perf_counter() + seconds
    passes = 0
    while passes < 3 or time.perf_counter() < deadline:
        before()
        gc.collect()
        t0 = time.perf_counter()
        for text in inputs:
            fn(text)
        best = min(best, time.perf_counter() - t0)
        passes += 1
    return len(inputs) / best


def _clear_memo() -> None:
    epc_module._top_cache.clear()
    gs1_module._valid_gtins.clear()


def _nothing() -> None:
    pass


def compare(
    figure: str,
    ours: Callable[[str], object],
    peer_name: str,
    *,
    peer: Callable[[str], object],
    inputs: Sequence[str],
    cold: bool,
    seconds: float,
    **extra: Any,
) -> dict[str, Any]:
    before = _clear_memo if cold else _nothing
    # interleave so that machine noise hits both sides alike
    ours_rate = peer_rate = 0.0
    for _ in range(2):
        ours_rate = max(ours_rate, best_rate(ours, inputs, seconds / 4, before))
        peer_rate = max(peer_rate, best_rate(peer, inputs, seconds / 4, _nothing))
    return {
        "figure": figure,
        "unit": "codes/s",
        "ours": round(ours_rate),
        peer_name: round(peer_rate),
        "ratio": round(ours_rate / peer_rate, 1),
        "inputs": len(inputs),
        "workload": "cold" if cold else "store",
        **extra,
    }


def main(argv: Sequence[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--quick", action="store_true", help="short runs (a smoke test, not figures)")
    args = ap.parse_args(argv)
    seconds = 0.4 if args.quick else 4.0
    n = 500 if args.quick else 2000
    rng = random.Random(20261123)
    env = {"python": platform.python_version(), "biip_version": biip.__version__, "pyepc_version": _version("pyepc")}

    workloads = {
        "markcode": {False: mark_codes(rng, n, 200), True: mark_codes(rng, n, None)},
        "sgtin-96": {False: epcs(rng, n, 200, "sgtin-96"), True: epcs(rng, n, None, "sgtin-96")},
        "sgtin-198": {False: epcs(rng, n, 200, "sgtin-198"), True: epcs(rng, n, None, "sgtin-198")},
    }
    # Same answers first: a faster wrong parser proves nothing.
    for code in workloads["markcode"][False] + workloads["markcode"][True]:
        item = parse(code)
        assert (item.gtin, item.serial) == _biip_parts(code), code
    for scheme in ("sgtin-96", "sgtin-198"):
        for hex_ in workloads[scheme][False] + workloads[scheme][True]:
            item = parse(hex_)
            assert (item.gtin, item.serial) == _pyepc_parts(hex_), hex_

    lines = []
    for cold in (False, True):
        codes = workloads["markcode"][cold]
        lines.append(
            compare("markcode_parse", parse, "biip", peer=biip.parse, inputs=codes, cold=cold, seconds=seconds, **env)
        )
    for scheme, decode in (("sgtin-96", decode_sgtin96), ("sgtin-198", decode_sgtin198)):
        for cold in (False, True):
            hexes = workloads[scheme][cold]
            lines.append(
                compare(
                    f"epc_parse_{scheme}",
                    parse,
                    "pyepc",
                    peer=pyepc.decode,
                    inputs=hexes,
                    cold=cold,
                    seconds=seconds,
                    **env,
                )
            )
        lines.append(
            compare(
                f"epc_decode_{scheme}",
                decode,
                "pyepc",
                peer=pyepc.decode,
                inputs=workloads[scheme][False],
                cold=False,
                seconds=seconds,
                **env,
            )
        )
    for line in lines:
        print(json.dumps(line), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
