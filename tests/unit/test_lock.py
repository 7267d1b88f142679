"""The lock is what runs: this venv (CI's, made by scripts/setup.sh from uv.lock) holds exactly
the releases the lock names, and the product's locked set carries no GPL licence."""

from __future__ import annotations

import importlib.metadata as md
import subprocess
import sys
from pathlib import Path

from scripts.licences import GPL, requirements

ROOT = Path(__file__).resolve().parents[2]
UV = Path(sys.executable).with_name("uv")


def _normal(name: str) -> str:
    return name.lower().replace("_", "-").replace(".", "-")


def _export(*flags: str) -> dict[str, str]:
    text = subprocess.run(
        [str(UV), "export", "--frozen", "--no-emit-project", "--no-header", "--no-hashes", *flags],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    return {_normal(n): v for n, v in requirements(text)}


def test_the_venv_holds_exactly_the_locked_releases() -> None:
    locked = _export("--extra", "dev")
    installed = {_normal(d.metadata["Name"]): d.version for d in md.distributions()}
    installed.pop("edge-agent")  # the project itself, editable
    installed.pop("uv")  # the tool that reads the lock (pinned in scripts/setup.sh)
    assert installed == locked


def test_the_lock_is_current_with_pyproject() -> None:
    # `uv lock --check` fails when pyproject.toml's dependencies moved without `make lock`
    done = subprocess.run(
        [str(UV), "lock", "--check", "--offline"], check=False, cwd=ROOT, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr


def test_the_product_set_is_listed_and_has_no_gpl() -> None:
    done = subprocess.run(
        [sys.executable, "scripts/licences.py", "--check"], check=False, cwd=ROOT, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    runtime = _export("--no-dev")
    listed = (ROOT / "docs" / "licences.md").read_text()
    assert all(f"| {name} | {version} |" in listed for name, version in runtime.items())
    assert "sllurp" not in runtime  # GPL-3.0: a test-only peer, never in the store's package


def test_gpl_is_told_from_lgpl() -> None:
    assert GPL.search("GPL-3.0-or-later") and GPL.search("AGPL-3.0") and GPL.search("GNU General Public License v3")
    assert not GPL.search("LGPL-2.1-or-later") and not GPL.search("GNU Lesser General Public License")
