"""Mark-code checks over real HTTP against the simulated TS PIoT, True API and Local Module."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from edge_agent.codes import Identity, parse
from edge_agent.config_sections import Verify
from edge_agent.verify import Outcome
from edge_agent.verify.backend import VerifyError
from edge_agent.verify.chain import Verifier
from edge_agent.verify.checks import CodeChecks
from edge_agent.verify.local_module import LocalModuleBackend
from edge_agent.verify.registry import verifier_from_config
from edge_agent.verify.true_api import TrueApiBackend
from edge_agent.verify.ts_piot import TsPiotBackend
from sim.crpt import API_KEY, SYNC_LIMIT_MS, CrptSim

MSK = ZoneInfo("Europe/Moscow")
CLIENT_INFO = {"name": "edge-agent", "version": "test", "id": "sco-1", "token": "t"}
MILK = "0104610053149777215d/wuU\x1d93dGVz"
WATER = "0104653820923088215GoNfWgdcBeVZ\x1d93dGVz"
CLOTHES = "0104669000322220215t*NH>t:ngCfH\x1d91FFD0\x1d92dGVzdBL8SAtwRqhp7H9rfyI59GoJ8ec6X9GhckDf8JE="
PACK = "04603731175212JEIjNYDAAAAtFwS"


def run(scenario: Callable[[CrptSim], Awaitable[Any]]) -> Any:
    async def main() -> Any:
        async with CrptSim() as sim:
            return await scenario(sim)

    return asyncio.run(asyncio.wait_for(main(), 60))


def ts_piot(sim: CrptSim) -> TsPiotBackend:
    return TsPiotBackend(sim.url("ts_piot"), CLIENT_INFO)


def lm(sim: CrptSim) -> LocalModuleBackend:
    return LocalModuleBackend(sim.url("lm"), "admin", "admin", "9999078900012345")


async def true_api(sim: CrptSim, key: str = API_KEY) -> TrueApiBackend:
    backend = TrueApiBackend(sim.url("cdn"), key)  # no sunset: the client itself, as a peer would use it
    await backend.start()
    return backend


def items(*codes: str) -> list[Identity]:
    return [parse(c) for c in codes]


@pytest.mark.parametrize(
    ("state", "reason"),
    [
        ("sellable", None),
        ("sold", "SOLD"),
        ("blocked", "BLOCKED"),
        ("expired", "EXPIRED"),
        ("not_found", "NOT_FOUND"),
        ("not_verified", "NOT_VERIFIED"),
        ("not_utilised", "NOT_UTILISED"),
        ("not_realizable", "NOT_REALIZABLE"),
    ],
)
def test_ts_piot_verdict_for_every_code_state(state: str, reason: str | None) -> None:
    async def scenario(sim: CrptSim) -> None:
        sim.registry.add(MILK, state)
        backend = ts_piot(sim)
        (verdict,) = await Verifier(backend, None, MSK).verify(items(MILK))
        await backend.aclose()
        assert verdict.outcome is (Outcome.ALLOWED if reason is None else Outcome.BLOCKED)
        assert [r.code for r in verdict.reasons][:1] == ([] if reason is None else [reason])
        assert verdict.context is not None and verdict.context.source == "ts_piot"
        assert verdict.fiscal()["1260"]["1265"].startswith(f"UUID={verdict.context.req_id}&Time=")

    run(scenario)


def test_grey_zone_tobacco_and_its_price_range() -> None:
    async def scenario(sim: CrptSim) -> None:
        sim.registry.add(PACK, "grey_tobacco", mrp=21_000, smp=15_000)
        backend = ts_piot(sim)
        verdicts = await Verifier(backend, None, MSK).verify(items(PACK, PACK, PACK), [18_000, 14_000, 22_000])
        await backend.aclose()
        assert [v.outcome for v in verdicts] == [Outcome.ALLOWED, Outcome.BLOCKED, Outcome.BLOCKED]
        assert [v.reasons[0].code for v in verdicts[1:]] == ["PRICE_BELOW_MIN", "PRICE_ABOVE_MAX"]
        assert verdicts[0].mrp == 21_000

    run(scenario)


def test_true_api_ranks_cdn_hosts_by_health_and_skips_unhealthy_ones() -> None:
    async def scenario(sim: CrptSim) -> None:
        sim.hosts[0].avg_time_ms, sim.hosts[1].avg_time_ms, sim.hosts[2].healthy = 90, 20, False
        backend = await true_api(sim)
        assert backend.hosts == [sim.host_urls[1], sim.host_urls[0]]
        sim.registry.add(WATER)
        (verdict,) = await Verifier(backend, None, MSK).verify(items(WATER))
        await backend.aclose()
        assert verdict.allowed and verdict.context is not None and verdict.context.source == "true_api"
        assert sim.requests("host1") >= 2 and sim.requests("host0") == 1  # health checks + the check on host1

    run(scenario)


@pytest.mark.parametrize("failure", ["status_500", "status_429", "drop", "hang"])
def test_true_api_fails_over_and_benches_the_failing_host(failure: str) -> None:
    async def scenario(sim: CrptSim) -> None:
        sim.registry.add(WATER)
        backend = await true_api(sim)
        first = backend.hosts[0]
        bad = sim.hosts[sim.host_urls.index(first)]
        if failure.startswith("status_"):
            bad.status = int(failure.split("_")[1])
        else:
            setattr(bad, failure, True)
        backend.client.timeout = __import__("httpx").Timeout(0.3)
        (verdict,) = await Verifier(backend, None, MSK, budget_s=1.5).verify(items(WATER))
        assert verdict.allowed
        assert first in backend.benched and first not in backend.available()
        (again,) = await Verifier(backend, None, MSK).verify(items(WATER))  # straight to the next host
        await backend.aclose()
        assert again.allowed

    run(scenario)


def test_true_api_bad_token_is_not_retried_elsewhere() -> None:
    async def scenario(sim: CrptSim) -> None:
        with pytest.raises(VerifyError) as info:
            await true_api(sim, key="wrong")
        assert info.value.code == "unauthorized"
        backend = await true_api(sim)
        backend.api_key = "revoked"
        with pytest.raises(VerifyError) as info:
            await backend.check(items(WATER))
        await backend.aclose()
        assert info.value.code == "unauthorized" and not backend.benched

    run(scenario)


def test_after_its_sunset_true_api_is_never_called_and_the_local_module_answers() -> None:
    # ТС ПИоТ only: a daemon started before the day stops calling True API on the day
    async def scenario(sim: CrptSim) -> None:
        sim.registry.add(MILK)
        day = [date(2026, 2, 28)]
        backend = TrueApiBackend(sim.url("cdn"), API_KEY, until=date(2026, 3, 1), today=lambda: day[0])
        await backend.start()
        chain = Verifier(backend, lm(sim), MSK)
        assert (await chain.verify(items(MILK)))[0].context.source == "true_api"  # type: ignore[union-attr]
        day[0] = date(2026, 3, 1)
        calls = [sim.requests(f"host{i}") for i in range(3)] + [sim.requests("cdn")]
        verdict = (await chain.verify(items(MILK)))[0]
        assert verdict.allowed and verdict.context is not None and verdict.context.source == "local_module"
        assert [sim.requests(f"host{i}") for i in range(3)] + [sim.requests("cdn")] == calls  # not one call
        await backend.aclose()
        late = TrueApiBackend(sim.url("cdn"), API_KEY, until=date(2026, 3, 1), today=lambda: date(2026, 12, 7))
        with pytest.raises(VerifyError, match="direct True API calls ended on 2026-03-01") as refused:
            await late.start()
        assert refused.value.code == "sunset" and sim.requests("cdn") == calls[-1]
        await late.aclose()

    run(scenario)


def test_health_shows_the_ts_piot_instance_and_why_an_online_service_is_not_in_the_chain() -> None:
    async def scenario(sim: CrptSim) -> None:
        keys = {
            "ts_piot_url": sim.url("ts_piot"),
            "local_module_url": sim.url("lm"),
            "true_api_cdn_url": sim.url("cdn"),
        }
        piot = await verifier_from_config(Verify.model_validate(keys), "Europe/Moscow")
        health = await CodeChecks(piot, lambda ki: None).health()
        assert health["ts_piot"] == {"status": "ready", "version": "sim"} and "online_error" not in health
        await piot.aclose()
        direct = await verifier_from_config(Verify.model_validate(keys | {"backend": "true_api"}), "UTC")
        health = await CodeChecks(direct, lambda ki: None).health()
        assert direct.online is None and str(health["online_error"]).startswith("true_api: direct True API calls ended")
        assert health["ok"] is False  # degraded: the store sells on the Local Module alone
        await direct.aclose()

    run(scenario)


def test_true_api_checks_a_basket_in_one_request() -> None:
    async def scenario(sim: CrptSim) -> None:
        codes = [MILK, WATER, CLOTHES]
        for c in codes:
            sim.registry.add(c)
        backend = await true_api(sim)
        before = sum(sim.requests(f"host{i}") for i in range(3))
        verdicts = await Verifier(backend, None, MSK).verify(items(*codes))
        after = sum(sim.requests(f"host{i}") for i in range(3))
        await backend.aclose()
        assert all(v.allowed for v in verdicts) and after - before == 1

    run(scenario)


def test_local_module_checks_the_ki_and_denies_only_blocked_or_sold() -> None:
    async def scenario(sim: CrptSim) -> None:
        sim.registry.add(MILK, "expired")
        sim.registry.add(WATER, "blocked")
        backend = lm(sim)
        verdicts = await Verifier(None, backend, MSK).verify(items(MILK, WATER))
        status = await backend.status()
        await backend.aclose()
        assert [v.outcome for v in verdicts] == [Outcome.ALLOWED, Outcome.BLOCKED]  # expiry is not known offline
        ctx = verdicts[0].context
        assert ctx is not None and ctx.offline and ctx.source == "local_module"
        assert verdicts[0].fiscal()["1260"]["1265"].endswith("&Inst=lm-sim-1&Ver=2.1.0")
        assert status["status"] == "ready" and status["sync_alarm"] is False

    run(scenario)


def test_local_module_not_ready_or_out_of_sync_is_an_error_and_alarms_early() -> None:
    async def scenario(sim: CrptSim) -> None:
        backend = lm(sim)
        sim.lm_status = "initialization"
        with pytest.raises(VerifyError) as info:
            await backend.check(items(MILK))
        assert info.value.code == "not_ready"
        sim.lm_status = "ready"
        sim.lm_last_sync_ms -= 50 * 3600 * 1000  # 50 h without sync: still works, but alarms
        assert (await backend.status())["sync_alarm"] is True
        await backend.check(items(MILK))
        sim.lm_last_sync_ms -= SYNC_LIMIT_MS
        with pytest.raises(VerifyError) as info:
            await backend.check(items(MILK))
        await backend.aclose()
        assert info.value.code == "out_of_sync"

    run(scenario)


def test_slow_online_answer_is_abandoned_at_1_5_s_and_the_local_module_decides() -> None:
    async def scenario(sim: CrptSim) -> None:
        sim.registry.add(MILK)
        sim.ts_piot.latency_s = 3.0
        verifier = Verifier(ts_piot(sim), lm(sim), MSK)
        started = time.monotonic()
        (verdict,) = await verifier.verify(items(MILK))
        elapsed = time.monotonic() - started
        assert 1.45 < elapsed < 1.7
        assert verdict.allowed and verdict.context is not None and verdict.context.source == "local_module"

    run(scenario)


def test_online_error_falls_back_at_once_and_both_down_is_unavailable() -> None:
    async def scenario(sim: CrptSim) -> None:
        sim.registry.add(MILK)
        sim.ts_piot.status = 503
        verifier = Verifier(ts_piot(sim), lm(sim), MSK)
        started = time.monotonic()
        (verdict,) = await verifier.verify(items(MILK))
        assert time.monotonic() - started < 1.0
        assert verdict.context is not None and verdict.context.source == "local_module"
        sim.lm_status = "sync_error"
        (down,) = await verifier.verify(items(MILK))
        assert down.outcome is Outcome.UNAVAILABLE
        assert "HTTP 503" in down.reasons[0].message and "72 h" in down.reasons[0].message
        assert down.fiscal()["1260"] is None

    run(scenario)


def test_an_epc_without_its_mark_code_cannot_be_checked_online() -> None:
    async def scenario(sim: CrptSim) -> None:
        (verdict,) = await Verifier(ts_piot(sim), None, MSK).verify(items("3034257BF7194E4000003039"))
        assert verdict.outcome is Outcome.UNAVAILABLE and "DataMatrix" in verdict.reasons[0].message

    run(scenario)


def test_true_api_refreshes_its_host_ranking_in_the_background(monkeypatch: pytest.MonkeyPatch) -> None:
    from edge_agent.verify import true_api as true_api_module

    monkeypatch.setattr(true_api_module, "REFRESH_S", (0.05, 0.1))  # instead of 6-7 h

    async def scenario(sim: CrptSim) -> None:
        sim.hosts[0].healthy = False
        backend = await true_api(sim)
        assert sim.host_urls[0] not in backend.hosts
        sim.hosts[0].healthy, sim.hosts[0].avg_time_ms = True, 1
        deadline = time.monotonic() + 5
        while backend.hosts[:1] != [sim.host_urls[0]] and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        await backend.aclose()
        assert backend.hosts[0] == sim.host_urls[0]  # back, and now the fastest

    run(scenario)


def test_a_slow_tail_never_holds_a_check_past_the_budget() -> None:
    async def scenario(sim: CrptSim) -> None:
        sim.registry.add(MILK)
        sim.ts_piot.latency_s, sim.ts_piot.tail_share, sim.ts_piot.tail_s = 0.02, 0.3, 2.5
        verifier = Verifier(ts_piot(sim), lm(sim), MSK)
        sources, slowest = [], 0.0
        for _ in range(12):
            started = time.monotonic()
            (verdict,) = await verifier.verify(items(MILK))
            slowest = max(slowest, time.monotonic() - started)
            assert verdict.allowed and verdict.context is not None
            sources.append(verdict.context.source)
        assert slowest < 1.7
        assert "ts_piot" in sources and "local_module" in sources  # the tail went offline

    run(scenario)
