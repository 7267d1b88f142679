"""What the security measures cost and what they buy, side by side in one run:

- ``pin_guess_cost``: one PIN guess under the stored scrypt hash vs under the unsalted SHA-256
  of the previous version, measured here; and what exhausting every 4-digit PIN offline takes
  on one core with each (10,000 × the measured cost per guess).
- ``kiosk_under_flood``: a kiosk's basket request over HTTPS while another device holds 1,100
  half-sent connections (the number that took 1,024 descriptors before) vs the same request
  on a quiet server, in one demo store; and how many of the flood the listening socket refused.

Run: ``make bench`` or ``.venv/bin/python bench/security.py [--quick]``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import resource
import socket
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from edge_agent.security import pins  # noqa: E402
from tests.e2e.demo_store import RunningStore  # noqa: E402


def pin_guess_cost(guesses: int) -> dict[str, object]:
    stored = pins.hash_pin("8041")
    started = time.perf_counter()
    for n in range(guesses):
        pins.verify(stored, f"{n:04d}")
    scrypt_s = (time.perf_counter() - started) / guesses
    target = hashlib.sha256(b"8041").hexdigest()
    started = time.perf_counter()
    for n in range(100_000):
        _ = hashlib.sha256(f"{n % 10_000:04d}".encode()).hexdigest() == target
    sha_s = (time.perf_counter() - started) / 100_000
    return {
        "figure": "pin_guess_cost",
        "unit": "ms",
        "scrypt": round(scrypt_s * 1000, 2),
        "sha256_unsalted": round(sha_s * 1000, 5),
        "ratio": round(scrypt_s / sha_s),
        "all_4_digit_pins_offline_s": {"scrypt": round(scrypt_s * 10_000, 1), "sha256": round(sha_s * 10_000, 4)},
        "n": guesses,
    }


def kiosk_under_flood(requests: int, flood: int = 1100) -> dict[str, object]:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, 8192), hard))
    with tempfile.TemporaryDirectory() as d:
        shop = RunningStore(Path(d) / "var").start()
        try:
            assert shop.store is not None
            port = int(shop.url.rsplit(":", 1)[1])
            with shop.store.client(timeout=10) as kiosk:

                def timed() -> list[float]:
                    out = []
                    for _ in range(requests):
                        t = time.perf_counter()
                        assert kiosk.get("/api/kiosk/lane-1/basket").status_code == 200
                        out.append((time.perf_counter() - t) * 1000)
                    return out

                quiet = timed()
                held = []
                for _ in range(flood):
                    s = socket.create_connection(("127.0.0.1", port), source_address=("127.0.0.2", 0))
                    s.sendall(b"\x16\x03\x01")  # a TLS hello begun, never finished
                    held.append(s)
                flooded = timed()
                refused = shop.store.daemon.http.socket.refused
                for s in held:
                    s.close()
        finally:
            shop.stop()
            resource.setrlimit(resource.RLIMIT_NOFILE, (soft, hard))
    q, f = statistics.median(quiet), statistics.median(flooded)
    return {
        "figure": "kiosk_under_flood",
        "unit": "ms",
        "quiet_p50": round(q, 2),
        "flooded_p50": round(f, 2),
        "flooded_p99": round(sorted(flooded)[int(len(flooded) * 0.99) - 1], 2),
        "ratio": round(f / q, 2),
        "flood_connections": flood,
        "refused_at_accept": refused,
        "n": requests,
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--quick", action="store_true")
    args = ap.parse_args()
    print(json.dumps(pin_guess_cost(10 if args.quick else 100)), flush=True)
    print(json.dumps(kiosk_under_flood(50 if args.quick else 500)), flush=True)


if __name__ == "__main__":
    main()
