"""``edge-agent demo``: the whole store on this machine, no hardware.

It starts the simulated Chestny Znak services (HTTP), the central loyalty and payment
services (on the agent's embedded MQTT broker), an LLRP reader per box lane and one at the
staff desk, and the daemon with its pages on https://127.0.0.1:8080 (a throw-away CA of its
own, in the demo's data directory), provisions a kiosk per lane and a staff handheld, and
says what runs where, with each device's one-time enrolment link, and how to play.
``--headless --shoppers N --seed S --json`` runs N automated shoppers through the same paths
and prints one JSON summary, computed from central's and the agent's records, as its last line.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import secrets
import shutil
import socket
import sqlite3
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from edge_agent.config import Config
from edge_agent.dashboard import percentile
from edge_agent.services import Services
from sim.demo_config import DemoParts, demo_config

if TYPE_CHECKING:
    from sim.central.node import CentralNode

log = logging.getLogger("sim.demo")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


PCSCD_SOCKET = "/run/pcscd/pcscd.comm"
VPCD_PORT = 0x8C7B  # vsmartcard-vpcd's default slot (/etc/reader.conf.d/vpcd)


def _free_udp_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class DemoStore:
    """The simulators and the daemon, started and stopped together."""

    def __init__(
        self,
        config: Config,
        http_port: int,
        data_dir: Path,
        *,
        lanes: int = 2,
        nfc_pad: bool = False,
        strict: bool = False,
    ) -> None:
        self.base, self.http_port, self.data_dir, self.lane_count = config, http_port, data_dir, lanes
        self.box_lanes = [f"lane-{i}" for i in range(1, lanes + 1)]
        #: strict: the configuration's own limits; else the demo's devices, all on one address and
        #: driven by programs, may sign in and look customers up far more often than a store allows
        self.strict = strict
        #: an NFC pad lane (nfcpy over UDP) where a simulated tag is tapped: the interactive demo
        self.nfc_port = _free_udp_port() if nfc_pad else None
        self.pad: Any = None
        #: a PC/SC pad (pyscard → pcscd → vpcd) when a pcscd with vsmartcard's vpcd is running
        self.pcsc = nfc_pad and Path(PCSCD_SOCKET).exists()
        self.pcsc_card: Any = None
        self.depart_s = 0.6
        self.readers: dict[str, Any] = {}
        self.scanners: dict[str, Any] = {}  # lane -> its kiosk's simulated 2D scanner
        self.staff_desk: Any = None
        self.url = ""
        #: what the demo provisioned: a program's token per device, a browser's enrolment link
        self.tokens: dict[str, str] = {}
        self.enrol: dict[str, str] = {}
        self.ops_token = secrets.token_urlsafe(18)
        self.central: CentralNode | None = None  # central's loyalty and payment services (None: down)
        self.broker_port = 0
        self.ca = self.data_dir / "tls" / "ca.crt"

    def device_headers(self, path: str) -> dict[str, str]:
        """What an enrolled device sends for ``path``: its kiosk's token, the handheld's, or the ops token."""
        parts = path.split("/")
        if path.startswith(("/api/kiosk/", "/kiosk/")) and len(parts) > 2:
            lane = parts[3] if path.startswith("/api/") and len(parts) > 3 else parts[2]
            return {"x-device-token": self.tokens.get(f"kiosk-{lane}", "")}
        if path.startswith("/api/staff"):
            return {"x-device-token": self.tokens["handheld-1"]}
        if path in ("/metrics", "/openapi.json", "/docs", "/api/lanes") or path.startswith("/healthz"):
            return {"authorization": f"Bearer {self.ops_token}"}
        return {}

    def client(self, **kw: Any) -> Any:
        """An httpx client that speaks as the store's own devices (trusting the demo's CA)."""
        import httpx

        def sign(request: httpx.Request) -> None:
            for k, v in self.device_headers(request.url.path).items():
                request.headers.setdefault(k, v)

        return httpx.Client(base_url=self.url, verify=self.tls_context(), event_hooks={"request": [sign]}, **kw)

    def async_client(self, **kw: Any) -> Any:
        import httpx

        async def sign(request: httpx.Request) -> None:
            for k, v in self.device_headers(request.url.path).items():
                request.headers.setdefault(k, v)

        return httpx.AsyncClient(base_url=self.url, verify=self.tls_context(), event_hooks={"request": [sign]}, **kw)

    def tls_context(self) -> Any:
        import ssl

        return ssl.create_default_context(cafile=str(self.ca))

    def provision(self) -> None:
        from edge_agent.security.devices import Device

        devices = self.services.devices
        wanted = [Device(f"kiosk-{lane}", "kiosk", lane=lane) for lane in self.daemon.lanes]
        wanted.append(Device("handheld-1", "handheld", reader="staff-desk"))
        for device in wanted:
            self.tokens[device.name] = devices.provision(device).token
        self.new_links()

    async def __aenter__(self) -> DemoStore:
        """Each part entered on one exit stack: a part that fails to start stops those before it."""
        from edge_agent.daemon import Daemon
        from edge_agent.security.tls import make_ca, make_cert
        from edge_agent.sync.embedded import EmbeddedBroker
        from sim.central.node import publish_stream
        from sim.crpt import CrptSim
        from sim.kkt import Device, KktSim
        from sim.llrp_reader import LLRPReaderSim
        from sim.max_id import MaxIdSim
        from sim.pictures import write_pictures
        from sim.scanner import ScannerSim
        from sim.scenarios import DOOR_SHELF, PRODUCTS
        from sim.utm import UtmSim

        shutil.rmtree(self.data_dir, ignore_errors=True)
        self.data_dir.mkdir(parents=True)
        tls = self.data_dir / "tls"  # a throw-away CA: the demo's browser tests trust it
        make_ca(self.ca, tls / "ca.key", "edge-agent demo CA")
        make_cert(self.ca, tls / "ca.key", tls / "server.crt", tls / "server.key", hosts=["127.0.0.1", "localhost"])
        catalog = self.data_dir / "catalog.json"
        catalog.write_text(
            json.dumps({"products": [{f: getattr(p, f) for f in p.__dataclass_fields__} for p in PRODUCTS]})
        )
        self.http_port = self.http_port or _free_port()  # known before the daemon starts: receipts link to it
        self.url = f"https://127.0.0.1:{self.http_port}"
        stack = self._stack = contextlib.AsyncExitStack()
        await stack.__aenter__()
        try:
            self.crpt = await stack.enter_async_context(CrptSim())
            lanes = self.box_lanes + (["lane-3"] if self.nfc_port else []) + (["lane-4"] if self.pcsc else [])
            #: one ATOL Web-server, a register per lane (deviceID = the lane): printing takes 0.2 s
            self.kkt = await KktSim({lane: Device(task_s=0.2, validation_s=0.03) for lane in lanes}).start()
            stack.push_async_callback(self.kkt.stop)
            for lane in self.box_lanes:
                reader = LLRPReaderSim(reads_per_s=800, seed=hash(lane) % 1000, miss_rate=0.02)
                self.readers[lane] = await stack.enter_async_context(reader)
                scanner = ScannerSim(self.data_dir / f"scanner-{lane}")  # the kiosk's 2D scanner, on a pty
                try:
                    scanner.plug()
                except OSError as e:  # no pseudo-terminals here (a bare chroot): the lane goes without
                    log.warning("%s: no 2D scanner (%s): staff check ages, bottles wait for staff", lane, e)
                    continue
                self.scanners[lane] = scanner
                stack.callback(scanner.unplug)
            self.max_id = await stack.enter_async_context(MaxIdSim())  # the digital ID issuer (age)
            self.utm = await stack.enter_async_context(UtmSim())  # the store's ЕГАИС УТМ
            # the handheld's badge reader; the exit gate: antenna 1 inside the door, 2 outside, GPO 1 its light
            self.staff_desk = await stack.enter_async_context(LLRPReaderSim(reads_per_s=200, seed=7))
            gate = LLRPReaderSim(antennas=2, gpos=1, reads_per_s=600, seed=11, miss_rate=0.02)
            self.gate = await stack.enter_async_context(gate)
            for n, item in enumerate(DOOR_SHELF):  # a store's RF: the shelf by the door, read weakly now and then
                self.gate.stray(item.epc, 1, rssi=(-82, -71), read_chance=0.1)
                self.gate.stray(item.epc, 2, rssi=(-84, -72 - n), read_chance=0.1)
            broker_port = _free_port()
            self.config = demo_config(
                self.base,
                parts=DemoParts(
                    data_dir=self.data_dir,
                    catalog=catalog,
                    images=write_pictures(self.data_dir / "images"),
                    http_port=self.http_port,
                    public_base_url=self.url,
                    broker_port=broker_port,
                    ops_token=self.ops_token,
                    ts_piot_url=self.crpt.url("ts_piot"),
                    local_module_url=self.crpt.url("lm"),
                    kkt_url=self.kkt.url,
                    box_readers={lane: r.port for lane, r in self.readers.items()},
                    staff_desk_port=self.staff_desk.port,
                    gate_port=self.gate.port,
                    nfc_port=self.nfc_port,
                    pcsc=self.pcsc,
                    depart_s=self.depart_s,
                    max_id_url=self.max_id.url,
                    utm_url=self.utm.url,
                    max_id_keys=self.max_id.keys,
                    scanners={lane: sim.link for lane, sim in self.scanners.items()},
                ),
                strict=self.strict,
            )
            # the broker, then central, then the daemon: central's retained catalogue snapshot is
            # on the broker before the agent subscribes, so the first one it takes is central's
            # (the demo broker has no ACL: a local process can publish on it; a store runs Mosquitto)
            broker = await EmbeddedBroker("127.0.0.1", broker_port).start()
            stack.push_async_callback(broker.stop)
            self.broker_port = broker_port
            await asyncio.to_thread(self.central_up)
            stack.push_async_callback(asyncio.to_thread, self.central_down)  # before the broker it uses
            products = [{f: getattr(p, f) for f in p.__dataclass_fields__} for p in PRODUCTS]
            snapshot = {"products": products}
            assert self.central is not None
            publish_stream(
                self.central.client, self.config.store.id, "catalog", kind="snapshot", version=1, data=snapshot
            )
            self.daemon = Daemon(self.config)
            self.stop = asyncio.Event()
            self.task = asyncio.create_task(self.daemon.run(self.stop))
            stack.push_async_callback(self._stop_daemon)
            await asyncio.wait_for(self.daemon.ready.wait(), 30)
            await asyncio.wait_for(self._readers_online(), 30)  # a store open for business: its readers read
            if self.nfc_port:
                from sim.nfc_tag import NfcTagSim

                self.pad = NfcTagSim(self.nfc_port)
                stack.push_async_callback(asyncio.to_thread, self.pad.lift)
            if self.pcsc:
                from sim.pcsc_card import PcscCardSim

                self.pcsc_card = PcscCardSim(VPCD_PORT)
                stack.push_async_callback(asyncio.to_thread, self.pcsc_card.lift)
            self.provision()
        except BaseException:
            await stack.aclose()
            raise
        return self

    async def _readers_online(self) -> None:
        from drivers.base import HealthState

        llrp = {r.id for r in self.config.readers if r.driver in ("llrp", "scanner")}  # UHF readers, kiosk scanners
        while not all(r.health.state is HealthState.ONLINE for r in self.daemon.readers if r.reader_id in llrp):
            await asyncio.sleep(0.05)

    async def _stop_daemon(self) -> None:
        self.stop.set()
        await self.task

    @property
    def services(self) -> Services:
        """The running daemon's parts (store, lanes, checkout, sync, ...)."""
        assert self.daemon.services is not None
        return self.daemon.services

    async def __aexit__(self, *exc: object) -> None:
        await self._stack.aclose()

    def new_links(self) -> dict[str, str]:
        """Fresh one-time enrolment links for every kiosk and the handheld (a link works once;
        the devices already enrolled keep their credentials)."""
        from edge_agent.security.devices import Device

        devices = self.services.devices
        wanted = [Device(f"kiosk-{lane}", "kiosk", lane=lane) for lane in self.daemon.lanes]
        wanted.append(Device("handheld-1", "handheld", reader="staff-desk"))
        for device in wanted:
            self.enrol[device.name] = self.url + devices.provision(device, enrol=True, keep=True).enrol_path()
        return {device.name: self.enrol[device.name] for device in wanted}

    def central_down(self) -> None:
        """Central's loyalty and payment services stop answering (its node stops; the store's
        broker stays up): the payment outage a newcomer or a test can bring about."""
        if self.central is not None:
            self.central.stop()
            self.central = None

    def central_up(self) -> None:
        """Central back after an outage: the same records, a new node."""
        from sim.central.node import CentralNode

        if self.central is None:
            node = CentralNode(self.data_dir / "central.db", port=self.broker_port, protocol="3.1.1", shared=False)
            node.start()
            node.ready.wait(10)
            self.central = node

    def script_customer(self, lane: str, instrument: str) -> None:
        """The next shopper paying on ``lane`` behaves so at central's simulated payment service
        (``ok``, ``decline:<reason>``, ``timeout``, ``late:<seconds>``)."""
        from sim.central import db as central_db
        from sim.central import payment

        conn = central_db.connect(self.data_dir / "central.db")
        try:
            payment.script_customer(conn, f"{lane}-", instrument)
        finally:
            conn.close()

    def summary(self, outcomes: list[Any]) -> dict[str, Any]:
        """The run as the records say it: the agent's SQLite and central's, cross-checked."""
        from sim.central import db as central_db
        from sim.central import loyalty
        from sim.scenarios import DOOR_SHELF

        agent = sqlite3.connect(self.data_dir / "edge-agent.db")
        central = central_db.connect(self.data_dir / "central.db")
        closed = dict(agent.execute("SELECT id, state FROM baskets").fetchall())
        paid_ids = {b for b, s in closed.items() if s == "CLOSED"}
        verdicts = dict(agent.execute("SELECT outcome, COUNT(*) FROM verdicts GROUP BY outcome").fetchall())
        items_sold = agent.execute("SELECT COUNT(*) FROM sold").fetchone()[0]
        depth = agent.execute("SELECT COUNT(*) FROM outbox WHERE sent_at IS NULL").fetchone()[0]
        unconfirmed = agent.execute("SELECT COUNT(*) FROM outbox WHERE confirmed_at IS NULL").fetchone()[0]
        shelf = [item.ki for item in DOOR_SHELF]
        shelf_alarms = agent.execute("SELECT COUNT(*) FROM gate_alarms WHERE ki IN (?, ?)", shelf).fetchone()[0]
        posted = dict(central.execute("SELECT id, total FROM transactions").fetchall())
        payments = central.execute("SELECT basket, status, amount, captures, refunded FROM payments").fetchall()
        captured = [p for p in payments if p[1] == "CAPTURED"]
        kept: dict[str, int] = {}  # basket -> captured money that was not refunded
        for basket, _status, amount, _captures, refunded in captured:
            kept[basket] = kept.get(basket, 0) + amount - refunded
        double = sum(1 for p in captured if p[3] > 1) + sum(
            1 for b in {p[0] for p in captured} if sum(1 for p in captured if p[0] == b and p[4] < p[2]) > 1
        )
        back = dict(agent.execute("SELECT basket_id, SUM(amount) FROM returns WHERE step = 'done' GROUP BY basket_id"))
        for basket_id, amount in back.items():  # money refunded for items brought back: not a broken sale
            kept[basket_id] = kept.get(basket_id, 0) + amount
        items_back = sum(
            len(json.loads(ln)) for (ln,) in agent.execute("SELECT lines FROM returns WHERE step = 'done'")
        )
        fiscal = self._fiscal_summary(agent, paid_ids, kept)
        law = self._law_summary(agent, paid_ids)
        agent_totals = {}
        for basket_id in paid_ids:
            row = agent.execute(
                "SELECT payload FROM outbox WHERE basket_id = ? AND topic LIKE '%/transaction.posted'", (basket_id,)
            ).fetchone()
            agent_totals[basket_id] = json.loads(row[0])["data"]["totalKop"] if row else None
        sold_lines = sum(
            sum(1 for ln in json.loads(d)["lines"] if ln["ki"])
            for (d,) in central.execute("SELECT data FROM transactions")
        )
        balanced = loyalty.ledger_balanced(central)
        problems: dict[str, int] = {}
        for o in outcomes:
            for code, n in o.problems.items():
                problems[code] = problems.get(code, 0) + n
        checks = {
            "every_paid_basket_posted_once": set(posted) == paid_ids,
            "totals_agree": all(posted.get(b) == agent_totals.get(b) == kept.get(b) for b in paid_ids),
            "no_money_kept_for_unpaid_baskets": all(v == 0 for b, v in kept.items() if b not in paid_ids),
            "no_double_capture": double == 0,
            "sold_set_matches_posted_items": items_sold == sold_lines - items_back,
            "one_receipt_per_paid_basket": fiscal["one_receipt_per_paid_basket"],
            "totals_match_captures": fiscal["totals_match_captures"],
            "ledger_balanced": balanced,
            "outbox_drained": depth == 0,
            "every_event_confirmed_by_central": unconfirmed == 0,
            "every_shopper_finished": all(not o.error for o in outcomes),
            "no_gate_alarm_for_the_door_shelf": shelf_alarms == 0,
            "one_egais_cheque_per_stamped_sale": law.pop("one_egais_cheque_per_stamped_sale"),
        }
        m = self.daemon.metrics
        return {
            "invariants_ok": all(checks.values()),
            "checks": checks,
            "baskets_paid": len(paid_ids),
            "baskets_cancelled": sum(1 for s in closed.values() if s == "CANCELLED"),
            "items_sold": items_sold,
            "verdicts": {
                "allowed": verdicts.get("ALLOWED", 0),
                "blocked": verdicts.get("BLOCKED", 0),
                "unavailable": verdicts.get("UNAVAILABLE", 0),
            },
            "problems": problems,
            "central": {
                "transactions_posted": len(posted),
                "duplicates_dropped": central_db.counter(central, "events.duplicates_dropped"),
            },
            "payments": {
                "captured": len(captured),
                "cancelled": sum(1 for p in payments if p[1] == "CANCELED"),
                "refunded": central.execute("SELECT COUNT(*) FROM refunds").fetchone()[0],
                "double_captures": double,
            },
            "loyalty_ledger_balanced": balanced,
            "fiscal": fiscal,
            **law,
            "latency_ms": {
                "tag_to_basket_p99": percentile([s * 1000 for s in m.samples["tag_to_basket"]], 99),
                "check_p99": percentile([s * 1000 for s in m.samples["check"]], 99),
                "pay_p99": percentile([o.pay_ms for o in outcomes if o.pay_ms is not None], 99),
            },
            "errors": [o.error for o in outcomes if o.error][:5],
        }

    def _law_summary(self, agent: sqlite3.Connection, paid: set[str]) -> dict[str, Any]:
        """The 2026 rules as the records say: ages proved by the digital ID, weighed lines and
        parts of packs sold, and the УТМ's cheques against the paid baskets with bottles: each
        paid basket with a stamped bottle has exactly one accepted sale cheque, the УТМ holds as
        sold exactly those baskets' stamps, and any other cheque it took was returned."""

        def args(op: str) -> list[tuple[str, dict[str, Any]]]:
            rows = agent.execute("SELECT basket_id, args FROM journal WHERE op = ? ORDER BY basket_id, seq", (op,))
            return [(b, json.loads(a)) for b, a in rows]

        answered: dict[str, dict[str, Any]] = {}
        for basket_id, a in args("egais_answered"):
            answered[basket_id] = a  # the last answer of each basket
        stamps: dict[str, set[str]] = {}  # paid basket -> the stamps of the bottles it sold
        for basket_id in {b for b, _a in args("bind_stamp")} & paid:
            sale = self.services.records.journal.sale(basket_id)
            sold = {line.stamp for line in sale.lines.values() if line.stamp} if sale is not None else set()
            if sold:
                stamps[basket_id] = sold
        stamped_paid = set(stamps)
        cheques = agent.execute("SELECT id, basket_id, kind, state FROM egais_cheques").fetchall()
        accepted_sales = [(cid, b) for cid, b, kind, state in cheques if kind == "sale" and state == "accepted"]
        returned = {
            cid.removesuffix(":return") for cid, _b, kind, state in cheques if kind == "return" and state == "accepted"
        }
        standing = [(cid, b) for cid, b in accepted_sales if cid not in returned]
        utm_sales = self.utm.sales()
        one_each = (
            all(sum(1 for _c, b in standing if b == basket) == 1 for basket in stamped_paid)
            and all(answered.get(b, {}).get("cheque") == cid for cid, b in standing)
            and {b for _c, b in standing} == stamped_paid
            and len(utm_sales) == len(accepted_sales)
            and self.utm.sold == set().union(*stamps.values())
        )
        return {
            "age_by_digital_id": sum(1 for _b, a in args("age_checked") if a["outcome"] == "accepted"),
            "weighed_lines": sum(1 for _b, a in args("add") if a.get("grams")),
            "part_lines": sum(1 for _b, a in args("set_part") if a["units"] < 10),
            "egais_cheques": len(utm_sales),
            "egais_returns": sum(1 for c in self.utm.cheques if c.kind == "return"),
            "one_egais_cheque_per_stamped_sale": one_each,
        }

    def _fiscal_summary(self, agent: sqlite3.Connection, paid: set[str], kept: dict[str, int]) -> dict[str, Any]:
        """What the registers printed against what the agent sold: one sell receipt per paid
        basket (matched by the request uuids its payment attempts used) and none for any other,
        each for the money taken (captured, less refunds other than returns)."""
        from edge_agent.fiscal.receipt import kopecks
        from edge_agent.payment.steps import receipt_uuid

        printed = self.kkt.receipts()
        sells = [r for r in printed if r["kind"] == "sell"]
        by_uuid = {r["uuid"]: r for r in sells}
        per_basket: dict[str, list[dict[str, Any]]] = {}
        for pid, basket_id, detail in agent.execute("SELECT id, basket_id, detail FROM payments"):
            tries = (json.loads(detail).get("receipt") or {}).get("try", 0)
            for n in range(1, tries + 1):
                if (r := by_uuid.get(receipt_uuid(pid, n))) is not None:
                    per_basket.setdefault(basket_id, []).append(r)
        matched = sum(len(v) for v in per_basket.values())
        one_each = matched == len(sells) and set(per_basket) == paid and all(len(v) == 1 for v in per_basket.values())
        totals = all(kopecks(v[0]["total"]) == kept.get(b) for b, v in per_basket.items())
        return {
            "receipts": len(sells),
            "returns": sum(1 for r in printed if r["kind"] == "sellReturn"),
            "one_receipt_per_paid_basket": one_each,
            "totals_match_captures": totals and one_each,
        }


def run(
    config: Config, out: TextIO, *, headless: bool = False, shoppers: int = 20, seed: int = 7, as_json: bool = False
) -> int:
    return asyncio.run(_run(config, out, headless=headless, shoppers=shoppers, seed=seed, as_json=as_json))


async def _run(config: Config, out: TextIO, *, headless: bool, shoppers: int, seed: int, as_json: bool) -> int:
    import logging

    from sim.demo_play import play
    from sim.scenarios import Shoppers

    data_dir = Path(config.agent.data_dir) / "demo"
    if headless:
        logging.basicConfig(level=logging.WARNING)
    else:  # the terminal is for a person: links, codes, alarms; the logs go to a file
        data_dir.mkdir(parents=True, exist_ok=True)
        logging.basicConfig(filename=data_dir / "demo.log", level=logging.INFO, force=True)
    port = 0 if headless else config.http.port
    async with DemoStore(config, port, data_dir, nfc_pad=not headless) as store:
        if headless:
            started = time.monotonic()
            crowd = Shoppers(store, seed)
            outcomes = await crowd.run(shoppers)
            await crowd.bring_back()  # a customer returns an item at the staff handheld
            assert store.services.sync is not None
            await store.services.sync.publisher.drained(20, confirmed=True)
            await asyncio.sleep(1.0)  # central's sink takes the last events
            summary = store.summary(outcomes)
            summary["seconds"] = round(time.monotonic() - started, 1)
            if not as_json:
                out.write(
                    f"{shoppers} shoppers, seed {seed}: {summary['baskets_paid']} paid, "
                    f"{summary['baskets_cancelled']} cancelled, invariants "
                    f"{'OK' if summary['invariants_ok'] else 'BROKEN'}\n"
                )
            out.write(json.dumps(summary, ensure_ascii=False) + "\n")
            return 0 if summary["invariants_ok"] else 1
        await play(store, out)
    return 0
