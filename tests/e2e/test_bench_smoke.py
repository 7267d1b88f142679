"""The benchmark still runs and still compares like with like (no timing is asserted here)."""

from __future__ import annotations

import json
import subprocess
import sys
from typing import Any

from tests.conftest import ROOT


def bench(script: str, *args: str, timeout_s: float = 300) -> list[dict[str, Any]]:
    """``bench/{script}`` run as a user runs it: it must exit 0; its figures, one per JSON line."""
    proc = subprocess.run(
        [sys.executable, f"bench/{script}", *args], cwd=ROOT, capture_output=True, timeout=timeout_s, check=False
    )
    assert proc.returncode == 0, proc.stderr.decode()[-2000:]
    return [json.loads(line) for line in proc.stdout.decode().splitlines()]


def by_name(figures: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {f["figure"]: f for f in figures}


def test_codes_bench_prints_one_json_line_per_figure_with_both_rates_and_the_ratio() -> None:
    figures = bench("codes.py", "--quick")  # exits 0 only if both libraries agree on every input
    names = {(f["figure"], f["workload"]) for f in figures}
    assert ("markcode_parse", "store") in names and ("epc_parse_sgtin-96", "cold") in names
    for f in figures:
        peer = f.get("biip", f.get("pyepc"))
        assert f["ours"] > 0 and peer > 0
        assert abs(f["ratio"] - f["ours"] / peer) <= 0.06  # rates are printed rounded


def test_sync_bench_runs_against_mosquitto_and_delivers_its_backlog() -> None:
    figures = by_name(bench("sync.py", "--quick"))
    assert set(figures) == {
        "event_to_central",
        "confirmed_latency",
        "request_roundtrip",
        "outbox_drain",
        "backlog_delivered",
    }
    assert figures["confirmed_latency"]["all_confirmed"]
    assert figures["backlog_delivered"]["complete"] and figures["outbox_drain"]["drained"]
    drain = figures["outbox_drain"]
    assert (
        drain["ours"] > 0 and drain["bare_paho"] > 0 and abs(drain["ratio"] - drain["ours"] / drain["bare_paho"]) < 0.02
    )
    assert 0 < drain["mqtt_messages"] < drain["events"] / 10  # the backlog went in batches


def test_fanin_bench_confirms_every_event_through_the_cluster_batched_alone_and_with_a_node_killed() -> None:
    argv = ["--stores", "20", "--rate", "400", "--seconds", "4"]  # 20 events/s a store: 2 in a 100 ms linger
    figures = by_name(bench("fanin.py", *argv, timeout_s=600))
    assert set(figures) == {"fanin_one_per_message", "fanin_confirmed", "fanin_node_killed"}
    for figure in figures.values():
        assert figure["stores"] == 20 and figure["sent"] >= 1_500 and figure["all_confirmed"], figure
        assert figure["central_stored"] == figure["sent"]  # central holds each event once
    assert figures["fanin_one_per_message"]["events_per_message"] == 1.0
    assert figures["fanin_confirmed"]["events_per_message"] > 1.5 < figures["fanin_node_killed"]["events_per_message"]
    assert "recovery_s" in figures["fanin_node_killed"] and figures["fanin_confirmed"]["ratio"] > 0


def test_api_bench_measures_the_websocket_and_the_product_page() -> None:
    figures = by_name(bench("api.py", "--quick"))
    ws, page = figures["ws_tag_to_browser"], figures["product_page_rps"]
    assert ws["n"] + ws["unmeasured"] == 40 and ws["p99"] >= ws["p50"] > 0
    assert page["ours"] > 0 and page["smallest_route"] > 0
    assert abs(page["ratio"] - page["ours"] / page["smallest_route"]) < 0.02


def test_daemon_bench_measures_lane_isolation_and_a_flooding_reader() -> None:
    figures = by_name([f for only in ("isolation", "flood") for f in bench("daemon.py", "--quick", "--only", only)])
    iso, flood = figures["lane_isolation"], figures["flood"]
    assert abs(iso["delta"] - (iso["lane_b_while_a_hangs_mean"] - iso["lane_b_healthy_mean"])) <= 0.15
    assert iso["lane_b_healthy_mean"] > 0 and iso["trials"] == 3
    assert flood["reads_per_s_reached"] > flood["real_rate_reached"] > 0 and flood["placements"] == 5
    assert flood["new_tag_p99"] > 0 and flood["reads_dropped"] == 0


def test_fiscal_bench_measures_both_orders_and_prints_one_receipt_per_basket() -> None:
    [figure] = bench("fiscal.py", "--quick")
    assert figure["figure"] == "pay_to_receipt_done" and figure["receipts_printed"] == 2  # one per order
    assert figure["checks_while_scanning"] > 0 and figure["checks_at_pay_time"] > 0
    assert abs(figure["speedup"] - figure["checks_at_pay_time"] / figure["checks_while_scanning"]) < 0.1


def test_security_bench_compares_pin_hashes_and_serves_a_kiosk_through_a_flood() -> None:
    figures = by_name(bench("security.py", "--quick"))
    cost = figures["pin_guess_cost"]
    assert cost["scrypt"] > cost["sha256_unsalted"] > 0 and cost["ratio"] > 1
    flood = figures["kiosk_under_flood"]
    assert flood["n"] == 50 and flood["refused_at_accept"] > 0 and flood["flooded_p50"] > 0


def test_gate_bench_times_walk_outs_to_the_light_and_counts_a_directionless_gates_false_alarms() -> None:
    figures = by_name(bench("gate.py", "--quick"))
    latency = figures["alarm_latency_ms"]
    assert latency["missed"] == 0 and latency["alarms"] == 6 and latency["walk_between_fields_ms"] == 250
    assert figures["false_alarms"]["ours"] == 0 and figures["false_alarms"]["naive_directionless"] > 0


def test_age_bench_times_both_paths_to_payable_in_one_store() -> None:
    [figure] = bench("age.py", "--quick", "--attendant-s", "30")
    assert figure["figure"] == "age_problem_to_payable" and figure["n"] == 3
    assert figure["digital_id_p50"] > 0 and figure["staff_system_p50"] > 0
    ratio = figure["digital_id_p50"] / figure["staff_system_p50"]
    assert abs(figure["ratio_to_staff_system"] - ratio) <= 0.02
    assert figure["ratio_to_staff_with_attendant"] < figure["ratio_to_staff_system"]  # the person is the cost
