"""The operations team's view: the alerting rules and the Grafana dashboard are valid, their
rules behave as unit-tested (promtool, Debian's `prometheus` package), and every metric they
name is one a running store exports, with the types Prometheus expects (`promtool check metrics`)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from collections.abc import Iterator

import pytest

from tests.conftest import ROOT
from tests.e2e.demo_store import RunningStore

PROMETHEUS = ROOT / "config" / "prometheus"
DASHBOARD = ROOT / "config" / "grafana" / "edge-agent.json"


def promtool(*args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[bytes]:
    exe = shutil.which("promtool")
    if exe is None:
        raise RuntimeError("promtool is not installed: `make test` installs it (scripts/setup.sh: prometheus)")
    return subprocess.run([exe, *args], input=stdin, capture_output=True, cwd=PROMETHEUS, timeout=60, check=False)


@pytest.fixture(scope="module")
def scrape(tmp_path_factory: pytest.TempPathFactory) -> Iterator[bytes]:
    store = RunningStore(tmp_path_factory.mktemp("monitoring") / "var").start()
    try:
        assert store.store is not None
        with store.store.client(timeout=30) as ops:
            yield ops.get("/metrics").content
    finally:
        store.stop()


def names_in(text: str) -> set[str]:
    return set(re.findall(r"\bedge_agent_[a-z_]+", text))


def test_the_alerting_rules_are_valid_and_pass_their_unit_tests() -> None:
    checked = promtool("check", "rules", "alerts.yml")
    assert checked.returncode == 0 and b"SUCCESS: 15 rules found" in checked.stdout, checked.stderr.decode()
    tested = promtool("test", "rules", "alerts.test.yml")
    assert tested.returncode == 0 and b"SUCCESS" in tested.stdout, tested.stdout.decode() + tested.stderr.decode()


def test_the_metrics_lint_clean_and_counts_are_counters(scrape: bytes) -> None:
    linted = promtool("check", "metrics", stdin=scrape)
    assert linted.returncode == 0, linted.stdout.decode() + linted.stderr.decode()
    text = scrape.decode()
    counters = (
        "edge_agent_mqtt_connects",
        "edge_agent_reads_dropped",
        "edge_agent_reads_coalesced",
        "edge_agent_fiscal_receipts",
        "edge_agent_fiscal_mark_checks",
        "edge_agent_staff_lockouts",
        "edge_agent_gate_alarms",
        "edge_agent_gate_crossings",
        "edge_agent_cloned_tags",
    )
    for counter in counters:
        assert f"# TYPE {counter}_total counter" in text or f"# TYPE {counter} counter" in text, counter
    assert re.search(r'edge_agent_reader_online\{reader="box-lane-1"\} 1\.0', text)  # bound to the readers


def test_every_metric_the_alerts_and_the_dashboard_use_is_exported(scrape: bytes) -> None:
    exported = names_in(scrape.decode())
    rules = names_in((PROMETHEUS / "alerts.yml").read_text())
    dashboard = json.loads(DASHBOARD.read_text())
    queries = " ".join(t["expr"] for p in dashboard["panels"] for t in p["targets"])
    used = rules | names_in(queries)
    assert len(used) >= 20 and used - exported == set()
    assert len(dashboard["panels"]) >= 15 and len({p["id"] for p in dashboard["panels"]}) == len(dashboard["panels"])


FLEET = PROMETHEUS / "fleet"


def test_the_fleet_configuration_and_its_alerts_are_valid_and_pass_their_unit_tests() -> None:
    for config in ("store.yml", "fleet/prometheus.yml"):  # a store's Prometheus, and central's federating it
        checked = promtool("check", "config", "--syntax-only", config)
        assert checked.returncode == 0, checked.stdout.decode() + checked.stderr.decode()
    rules = promtool("check", "rules", "fleet/fleet-alerts.yml", "fleet/fleet-target.yml")
    assert rules.returncode == 0 and b"SUCCESS: 7 rules found" in rules.stdout, rules.stderr.decode()
    tested = promtool("test", "rules", "fleet/fleet-alerts.test.yml")
    assert tested.returncode == 0 and b"SUCCESS" in tested.stdout, tested.stdout.decode() + tested.stderr.decode()
    federated = (FLEET / "prometheus.yml").read_text()
    assert "/federate" in federated and "honor_labels: true" in federated and "'{job=\"edge-agent\"}'" in federated


def test_every_metric_the_fleet_alerts_and_dashboard_use_is_exported(scrape: bytes) -> None:
    exported = names_in(scrape.decode())
    dashboard = json.loads((ROOT / "config" / "grafana" / "fleet.json").read_text())
    queries = " ".join(t["expr"] for p in dashboard["panels"] for t in p["targets"])
    used = names_in((FLEET / "fleet-alerts.yml").read_text()) | names_in(queries)
    # edge_agent_fleet_target_info is central's own recording rule, not a daemon's metric
    assert {"edge_agent_build_info", "edge_agent_start_ok"} <= used
    assert used - exported == {"edge_agent_fleet_target_info"}
    assert len({p["id"] for p in dashboard["panels"]}) == len(dashboard["panels"]) >= 8
    worst_first = next(p for p in dashboard["panels"] if p["type"] == "table")
    assert worst_first["targets"][0]["expr"].startswith("sort_desc(")
