"""``make fuzz``: each target under atheris (libFuzzer, coverage-guided) in a process of its own.

    .venv/bin/python -m tests.fuzz.run [--runs-per-target N] [TARGET ...]

Prints one JSON line per target (inputs run, seconds, crash file if any) and a total line;
exits 1 if any target found an input that ends in an unexpected exception. Such an input is
written to ``tests/fuzz/regressions/<target>/``: the regression test replays it from then on.
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
REGRESSIONS = HERE / "regressions"


def child(target: str, runs: int, corpus: str, artifacts: str) -> None:
    import atheris

    with atheris.instrument_imports(include=["edge_agent", "drivers"]):
        from tests.fuzz.targets import TARGETS
    atheris.Setup(
        [sys.argv[0], f"-runs={runs}", f"-artifact_prefix={artifacts}/", "-print_final_stats=1", corpus],
        TARGETS[target],
    )
    atheris.Fuzz()


def run(target: str, runs: int, keep: bool = True) -> dict[str, object]:
    from tests.fuzz.targets import SEEDS

    with tempfile.TemporaryDirectory() as corpus, tempfile.TemporaryDirectory() as artifacts:
        for i, seed in enumerate(SEEDS.get(target, [])):
            (Path(corpus) / f"seed-{i}").write_bytes(seed)
        for found in sorted((REGRESSIONS / target).glob("*")) if (REGRESSIONS / target).exists() else []:
            shutil.copy(found, Path(corpus) / found.name)
        started = time.monotonic()
        proc = subprocess.run(
            [
                sys.executable,
                "-m",
                "tests.fuzz.run",
                "--child",
                target,
                "--runs-per-target",
                str(runs),
                "--corpus",
                corpus,
                "--artifacts",
                artifacts,
            ],
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=False,
        )
        seconds = time.monotonic() - started
        done = re.findall(r"stat::number_of_executed_units:\s*(\d+)", proc.stderr)
        crashes = sorted(Path(artifacts).glob("*"))
        kept = []
        for crash in crashes if keep else ():
            REGRESSIONS.joinpath(target).mkdir(parents=True, exist_ok=True)
            kept.append(str(shutil.copy(crash, REGRESSIONS / target / crash.name)))
        out: dict[str, object] = {
            "target": target,
            "inputs": int(done[-1]) if done else 0,
            "seconds": round(seconds, 1),
            "ok": proc.returncode == 0 and not crashes,
        }
        if not out["ok"]:
            out["crashes"] = kept
            out["stderr_tail"] = proc.stderr[-3000:]
        return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("targets", nargs="*")
    ap.add_argument("--runs-per-target", type=int, default=170_000)
    ap.add_argument("--no-keep", action="store_true", help="do not write found inputs to regressions/ (make test)")
    ap.add_argument("--child", help=argparse.SUPPRESS)
    ap.add_argument("--corpus", help=argparse.SUPPRESS)
    ap.add_argument("--artifacts", help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child:
        child(args.child, args.runs_per_target, args.corpus, args.artifacts)
        return 0
    from tests.fuzz.targets import TARGETS

    results = [run(t, args.runs_per_target, not args.no_keep) for t in (args.targets or TARGETS)]
    for r in results:
        print(json.dumps(r), flush=True)
    total = {
        "figure": "fuzz",
        "inputs": sum(int(str(r["inputs"])) for r in results),
        "seconds": round(sum(float(str(r["seconds"])) for r in results), 1),
        "targets": len(results),
        "unexpected_exceptions": sum(not r["ok"] for r in results),
    }
    print(json.dumps(total), flush=True)
    return 0 if all(r["ok"] for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
