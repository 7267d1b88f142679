"""The licences of the product's locked set: every distribution `uv.lock` installs into the store
package (runtime dependencies, no [dev] extra), read from the installed metadata.

    python scripts/licences.py            print docs/licences.md's table
    python scripts/licences.py --check    exit 1 when docs/licences.md is stale, a licence is
                                          unknown, or one is GPL/AGPL (the product is Apache-2.0)

Run from the project's venv (`make lock` does both). LGPL is allowed: the product imports those
libraries unmodified (pyscard, LGPL-2.1-or-later; see docs/adr/0003-licences.md).
"""

from __future__ import annotations

import argparse
import importlib.metadata as md
import re
import subprocess
import sys
from pathlib import Path

from packaging.markers import Marker

ROOT = Path(__file__).resolve().parent.parent
TABLE = ROOT / "docs" / "licences.md"

# metadata that names no licence, read from the project's own licence file
KNOWN: dict[str, str] = {}
# licence names in free text or classifiers, to SPDX
CLASSIFIERS = {
    "MIT License": "MIT",
    "BSD License": "BSD",
    "Apache Software License": "Apache-2.0",
    "Mozilla Public License 2.0 (MPL 2.0)": "MPL-2.0",
    "Python Software Foundation License": "PSF-2.0",
    "Public Domain": "public domain",
    "GNU Lesser General Public License v2 or later (LGPLv2+)": "LGPL-2.0-or-later",
    "GNU Library or Lesser General Public License (LGPL)": "LGPL",
    "ISC License (ISCL)": "ISC",
}
GPL = re.compile(r"(?<!L)(A?GPL)|GNU General Public|GNU Affero", re.IGNORECASE)


def locked_runtime() -> list[tuple[str, str]]:
    """(name, version) of each runtime distribution in uv.lock for this platform."""
    uv = Path(sys.executable).with_name("uv")
    text = subprocess.run(
        [str(uv), "export", "--frozen", "--no-dev", "--no-emit-project", "--no-header", "--no-hashes"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return requirements(text)


def requirements(text: str) -> list[tuple[str, str]]:
    out = []
    for line in text.splitlines():
        spec, _, marker = line.partition(";")
        if "==" not in spec or (marker.strip() and not Marker(marker.strip()).evaluate()):
            continue
        name, version = (p.strip() for p in spec.split("=="))
        out.append((name, version))
    return out


def licence(name: str) -> str:
    meta = md.metadata(name)
    if meta.get("License-Expression"):
        return str(meta["License-Expression"])
    classifiers = [c.split("::")[-1].strip() for c in meta.get_all("Classifier") or [] if c.startswith("License ::")]
    named = [CLASSIFIERS.get(c, c) for c in classifiers if c != "OSI Approved"]
    if named:
        return " OR ".join(dict.fromkeys(named))
    text = (meta.get("License") or "").strip().splitlines()
    if text and len(text[0]) <= 40:
        return text[0]
    return KNOWN.get(name.lower(), "")


def table(rows: list[tuple[str, str, str]]) -> str:
    lines = [
        "# Licences of the store package's dependencies",
        "",
        "The runtime set of `uv.lock` (no `[dev]` extra), as `/opt/edge-agent` holds it. Made by",
        "`make lock` (`scripts/licences.py`); `make test` fails when it is stale or a licence is GPL.",
        "",
        "| distribution | version | licence |",
        "|---|---|---|",
    ]
    lines += [f"| {n} | {v} | {lic} |" for n, v, lic in rows]
    return "\n".join(lines) + "\n"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true")
    ap.add_argument("--write", action="store_true", help="write docs/licences.md")
    args = ap.parse_args()
    rows = sorted((n, v, licence(n)) for n, v in locked_runtime())
    problems = [f"{n} {v}: no licence in its metadata (add it to KNOWN)" for n, v, lic in rows if not lic]
    problems += [f"{n} {v}: {lic} is not allowed in the Apache-2.0 product" for n, v, lic in rows if GPL.search(lic)]
    text = table(rows)
    if args.write:
        TABLE.write_text(text)
    elif not args.check:
        sys.stdout.write(text)
    if args.check and TABLE.read_text() != text:
        problems.append(f"{TABLE.relative_to(ROOT)} is stale: run `make lock`")
    for p in problems:
        print(f"licences: {p}", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
