"""The product stands on its own: it runs with no simulator installed, and the store writes
wire formats without knowing how they travel."""

from __future__ import annotations

import ast
import subprocess
import sys

from tests.conftest import ROOT


def imports_of(path: str) -> set[str]:
    tree = ast.parse((ROOT / path).read_text(encoding="utf-8"))
    out = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            out.add(node.module)
    return out


def test_the_daemon_api_and_cli_import_and_build_with_the_simulators_missing() -> None:
    code = (
        "import sys; sys.modules['sim'] = None\n"  # `import sim` now fails, as on a store's server
        "import edge_agent.daemon, edge_agent.api, edge_agent.cli, edge_agent.service, drivers.registry\n"
        "from edge_agent.cli import build_parser\n"
        "p = build_parser(); print(p.parse_args(['code', 'parse', 'x']).code)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, cwd=ROOT, timeout=60, check=False)
    assert proc.returncode == 0, proc.stderr.decode()
    assert proc.stdout.decode().strip() == "x"


def test_no_module_of_the_product_imports_the_simulators() -> None:
    offenders = [
        str(p.relative_to(ROOT))
        for p in sorted((ROOT / "edge_agent").rglob("*.py"))
        if any(m == "sim" or m.startswith("sim.") for m in imports_of(str(p.relative_to(ROOT))))
    ]
    assert offenders == []


def test_the_database_and_the_journal_import_nothing_from_sync_and_wire_formats_import_neither() -> None:
    writers = [*sorted((ROOT / "edge_agent" / "db").glob("*.py")), ROOT / "edge_agent" / "basket" / "journal.py"]
    for path in writers:
        imported = imports_of(str(path.relative_to(ROOT)))
        assert not {m for m in imported if m.startswith("edge_agent.sync")}, path
    for module in ("envelope", "topics", "events"):
        imported = imports_of(f"edge_agent/wire/{module}.py")
        assert not {
            m for m in imported if m.startswith(("edge_agent.sync", "edge_agent.db", "edge_agent.basket.journal"))
        }


def test_the_database_core_knows_no_feature() -> None:
    for path in sorted((ROOT / "edge_agent" / "db").glob("*.py")):
        features = {m for m in imports_of(str(path.relative_to(ROOT))) if m.startswith("edge_agent.")}
        assert features <= {
            "edge_agent.db",
            "edge_agent.db.database",
            "edge_agent.db.migrations",
            "edge_agent.db.outbox",
            "edge_agent.errors",
            "edge_agent.wire",
            "edge_agent.wire.topics",
            "edge_agent.wire.envelope",
        }, path
