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
        "import edge_agent.daemon, edge_agent.api, edge_agent.cli, edge_agent.run, drivers.registry\n"
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


def _module_graph() -> dict[str, set[str]]:
    """Each product module and the product modules it imports (at import time or inside a
    function; imports only for type checkers are left out: they never run)."""
    modules = {}
    for package in ("edge_agent", "drivers"):
        for path in (ROOT / package).rglob("*.py"):
            name = ".".join(path.relative_to(ROOT).with_suffix("").parts).removesuffix(".__init__")
            modules[name] = path
    graph: dict[str, set[str]] = {}
    for name, path in modules.items():
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
                node.body = []
        out: set[str] = set()
        for node in ast.walk(tree):
            if isinstance(node, ast.Import):
                out |= {a.name for a in node.names if a.name in modules}
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                submodules = {f"{node.module}.{a.name}" for a in node.names} & modules.keys()
                names = len(node.names) > len(submodules)  # names from the module itself, not its submodules
                out |= submodules | ({node.module} & modules.keys() if names else set())
        graph[name] = out - {name}
    return graph


def test_no_module_of_the_product_is_part_of_an_import_cycle() -> None:
    graph = _module_graph()
    cycles = []
    for start in graph:  # a module that reaches itself again
        seen, todo = set(), list(graph[start])
        while todo:
            module = todo.pop()
            if module == start:
                cycles.append(start)
                break
            if module not in seen:
                seen.add(module)
                todo.extend(graph[module])
    assert cycles == []


def test_no_private_name_is_imported_from_another_package() -> None:
    offenders = []
    for package in ("edge_agent", "drivers", "sim"):
        for path in (ROOT / package).rglob("*.py"):
            own = ".".join(path.relative_to(ROOT).parent.parts)
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                    source = (
                        node.module.rsplit(".", 1)[0]
                        if (ROOT / (node.module.replace(".", "/") + ".py")).exists()
                        else node.module
                    )
                    private = [a.name for a in node.names if a.name.startswith("_") and not a.name.startswith("__")]
                    if private and source != own:
                        offenders.append(f"{path.relative_to(ROOT)}: {node.module} {private}")
    assert offenders == []


def test_one_meaning_per_file_name() -> None:
    names = {p.name for p in (ROOT / "edge_agent").rglob("*.py")}
    assert not {"service.py", "utils.py", "helpers.py", "manager.py"} & names


def test_every_module_of_the_product_reads_in_one_sitting() -> None:
    long = {
        str(p.relative_to(ROOT)): n
        for p in (ROOT / "edge_agent").rglob("*.py")
        if (n := len(p.read_text(encoding="utf-8").splitlines())) > 400
    }
    assert long == {}
