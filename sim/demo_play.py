"""The interactive demo, as a newcomer plays it in a terminal: what to open, the one-time codes
and the alarms as they happen (the logs go to ``demo.log``), shoppers filling every box lane
one purchase after another, and a key per trouble to see what a shopper and the staff meet
when things go wrong (docs/simulators.md)."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import sys
from typing import TYPE_CHECKING, Any, TextIO

if TYPE_CHECKING:
    from sim.demo import DemoStore

#: the terminal's keys (a letter and Enter): what each brings about
KEYS = {
    "l": "new enrolment links for every kiosk and the handheld (a link works once)",
    "b": "a counterfeit milk in lane-1's box (blocked: the kiosk says which item to set aside)",
    "d": "the next card payment on lane-1 is declined (insufficient funds)",
    "p": "lane-1's receipt printer out of paper (p again: a roll loaded)",
    "o": "central's payment service down (o again: back)",
    "h": "this list",
}


async def play(store: DemoStore, out: TextIO) -> None:
    from sim.demo import PCSCD_SOCKET, VPCD_PORT
    from sim.scenarios import PRODUCTS, STAFF_BADGE, STAFF_PIN

    config = store.config
    w = out.write
    w(
        f"edge-agent demo: store {config.store.id}, {len(store.daemon.lanes)} self-checkout lanes "
        f"({len(store.box_lanes)} RFID boxes{', 1 NFC pad' if store.nfc_port else ''}), all on this machine\n\n"
    )
    w(f"  HTTPS            the demo's own CA: {store.ca} (trust it in the browser, or accept the warning)\n")
    w("  kiosks: open each device's one-time enrolment link in its browser (it becomes that lane's kiosk)\n")
    for lane in store.daemon.lanes:
        w(f"    {lane:<14} {store.enrol[f'kiosk-{lane}']}\n")
    w(
        f"  staff handheld   {store.enrol['handheld-1']}   (staff id s-1, PIN {STAFF_PIN}; or badge + PIN on "
        f"the staff desk reader 127.0.0.1:{store.staff_desk.port}, badge {STAFF_BADGE})\n"
    )
    w(
        f"  ops token        {store.ops_token}   ({store.url}/docs, /healthz details and /metrics need it as a "
        "Bearer token)\n"
    )
    w(f"  MQTT (embedded)  127.0.0.1:{store.config.mqtt.port}   central loyalty + payment simulators\n")
    w(f"  Chestny Znak     TS PIoT {store.crpt.url('ts_piot')}   Local Module {store.crpt.url('lm')}\n")
    w(f"  ЕГАИС УТМ        {store.utm.url}   digital ID issuer {store.max_id.url}\n")
    for lane, scanner in store.scanners.items():
        w(f"  2D scanner       {lane}: {scanner.link} (age QR codes and excise stamps)\n")
    for lane, reader in store.readers.items():
        w(f"  LLRP reader      {lane}: 127.0.0.1:{reader.port}\n")
    w(f"  exit gate        exit: LLRP 127.0.0.1:{store.gate.port} (antenna 1 inside, 2 outside, GPO 1)\n")
    if store.nfc_port:
        w(f"  NFC pad          lane-3: nfcpy udp:127.0.0.1:{store.nfc_port}   kiosk {store.url}/kiosk/lane-3\n")
    if store.pcsc:
        w(f"  PC/SC pad        lane-4: pcscd + vpcd slot {VPCD_PORT}   kiosk {store.url}/kiosk/lane-4\n")
    else:
        w(f"  PC/SC pad        not started: no pcscd at {PCSCD_SOCKET} (start pcscd with vsmartcard-vpcd)\n")
    w(
        "\nHow to play: shoppers put items in each box lane's box (watch /kiosk/lane-1 and lane-2), up\n"
        "to five, and a bottle of water is tapped on lane-3's NFC pad now and then. Identify with\n"
        "phone +79990000002 (the one-time code \"sent by SMS\" is printed here), press 'Go to payment',\n"
        "then pay by card or SBP; once a purchase is over the next shopper starts. Staff approve age\n"
        "checks on the staff page; now and then someone walks out through the exit gate unpaid.\n"
        "Products: " + ", ".join(p.name for p in PRODUCTS) + "\n"
        f"Logs: {store.data_dir / 'demo.log'}. Trouble, on purpose (type a letter, then Enter):\n"
    )
    for key, what in KEYS.items():
        w(f"  {key}  {what}\n")
    w("Ctrl-C stops the store.\n")
    out.flush()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    assert store.central is not None
    store.central.settings.customer_delay_s = 8.0  # a person sees the SBP QR and the card prompt
    feeder = asyncio.create_task(_feed(store, out))
    if sys.stdin.isatty():
        loop.add_reader(sys.stdin, lambda: _command(store, sys.stdin.readline().strip().lower(), out))
    await stop.wait()
    feeder.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await feeder


def _command(store: DemoStore, key: str, out: TextIO) -> None:
    """A newcomer's key: bring about one trouble, or new enrolment links."""
    from sim.scenarios import PRODUCTS, Shoppers

    w = out.write
    if key == "l":
        for name, link in store.new_links().items():
            w(f"  {name:<16} {link}\n")
    elif key == "b":
        helper = Shoppers(store, 99)
        fake = helper.new_item(PRODUCTS[0])  # a mark code the national system never issued
        store.services.records.catalogue.receive_codes([(fake.ki, fake.mark_code)])
        store.readers["lane-1"].place(fake.epc, antenna=1)
        w("  lane-1: a counterfeit milk is in the box: the kiosk names it, staff void it\n")
    elif key == "d":
        store.script_customer("lane-1", "decline:insufficient_funds")
        w("  lane-1: the next card payment will be declined\n")
    elif key == "p":
        device = store.kkt.device("lane-1")
        device.paper = not device.paper
        w(f"  lane-1: receipt printer {'loaded' if device.paper else 'out of paper'} (the kiosk hears within 10 s)\n")
    elif key == "o":
        up = store.central is not None
        task = asyncio.get_running_loop().run_in_executor(None, store.central_down if up else store.central_up)
        _keep(task)
        w(f"  central's payment service {'down: a payment now waits, then the shopper is told' if up else 'back'}\n")
    elif key:
        for k, what in KEYS.items():
            w(f"  {k}  {what}\n")
    out.flush()


_running: set[Any] = set()


def _keep(task: Any) -> None:
    _running.add(task)
    task.add_done_callback(_running.discard)


async def _feed(store: DemoStore, out: TextIO, tick_s: float = 4.0, ticks: int | None = None) -> None:
    """Interactive mode: shoppers put items in every box lane's box now and then, up to five;
    once a lane's purchase is over (paid or cancelled) they take their items out and the next
    shopper starts. The SMS gateway's messages (one-time codes) are printed as they are sent.
    ``ticks``: stop after that many (a test's run), else go on until cancelled."""
    from sim.scenarios import PRODUCTS, Shoppers

    helper = Shoppers(store, 1)
    tick, sms_seen = 0, 0
    walking: set[asyncio.Task[None]] = set()

    def walk_out(epc: str) -> None:  # past the exit gate's antennas, inside -> outside
        task = asyncio.create_task(store.gate.walk(epc, (1, 2), 0.25))
        walking.add(task)
        task.add_done_callback(walking.discard)

    while ticks is None or tick < ticks:
        tick += 1
        for sms_id, phone, text in helper.sms_since(sms_seen):
            sms_seen = sms_id
            out.write(f"  SMS to {phone}: {text}\n")
            out.flush()
        await _tap_pads(store, helper, tick)
        for lane_id in store.box_lanes:
            await _feed_box(store, helper, lane_id, tick=tick, walk_out=walk_out, out=out, pause_s=min(2.0, tick_s / 2))
        if tick % 5 == 0:  # and now and then someone walks out with an item nobody paid for
            thief = helper.new_item(PRODUCTS[3])
            walk_out(thief.epc)
            out.write(f"  exit gate: someone walked out with an unpaid {thief.product.name}: see the staff page\n")
            out.flush()
        await asyncio.sleep(tick_s)
    for task in list(walking):  # the last shoppers through the gate
        await task


async def _tap_pads(store: DemoStore, helper: Any, tick: int) -> None:
    """A customer taps a bottle of water on the NFC pad, and a chocolate bar on the PC/SC pad."""
    from sim.scenarios import PRODUCTS

    if store.pad is not None and tick % 3 == 0:
        water = helper.new_item(PRODUCTS[1])
        helper.register(water)
        link = f"{store.services.public_base_url}/01/{water.product.gtin}/21/{water.serial}"
        store.pad.place(uri=f"{link}?93={water.serial[-4:]}")
        await asyncio.sleep(1.5)
        await asyncio.to_thread(store.pad.lift)
    if store.pcsc_card is not None and tick % 3 == 1:
        from sim.pcsc_card import VirtualNtag

        bar = helper.new_item(PRODUCTS[3])
        uid = bytes.fromhex("04") + tick.to_bytes(6, "big")
        link = f"{store.services.public_base_url}/01/{bar.product.gtin}/21/{bar.serial}"
        with contextlib.suppress(OSError):
            await asyncio.to_thread(store.pcsc_card.place, VirtualNtag.with_uri(uid, link))
            await asyncio.sleep(1.5)
            await asyncio.to_thread(store.pcsc_card.lift)


async def _feed_box(
    store: DemoStore, helper: Any, lane_id: str, *, tick: int, walk_out: Any, out: TextIO, pause_s: float
) -> None:
    """One shopper's step at a box lane: an item in (up to five), or, their purchase over, their
    items out (through the exit gate when paid, back to the shelf when cancelled)."""
    from sim.scenarios import CHEESE, PRODUCTS

    reader = store.readers[lane_id]
    basket = store.daemon.lanes[lane_id].basket
    state = basket.state.value if basket is not None else "EMPTY"
    lines = len(basket.lines) if basket is not None else 0
    if state in ("CLOSED", "CANCELLED"):
        if reader.tags:  # the shopper takes their things and goes; the next one starts afresh
            for tag in list(reader.tags):
                if state == "CLOSED":
                    walk_out(tag.epc.hex())  # paid: the gate stays silent
            reader.tags.clear()
            return
    elif state not in ("EMPTY", "OPEN", "SCANNING", "NEEDS_ASSISTANCE") or lines >= 5:
        return  # paying, or waiting for the shopper to go on
    law = _law_case(tick) if lane_id == "lane-1" else None
    item = helper.new_item(law or PRODUCTS[helper.rng.randrange(6)])  # no tobacco
    item.grams = helper.rng.randint(150, 900) if item.product is CHEESE else 0
    helper.register(item)
    reader.place(item.epc, antenna=1)
    if lane_id == "lane-1":
        await _shopper_shows(store, item, out, pause_s)


def _law_case(tick: int) -> Any:
    """Now and then one of 2026's cases on lane-1: a weighed cheese, a bottle of vodka, an energy drink."""
    from sim.scenarios import CHEESE, PRODUCTS, VODKA

    return {7: CHEESE, 11: VODKA, 13: PRODUCTS[4]}.get(tick % 14)


async def _shopper_shows(store: DemoStore, item: Any, out: TextIO, pause_s: float = 2.0) -> None:
    """What the shopper shows the kiosk's scanner for it: the bottle's stamp, or the digital ID."""
    from sim.scenarios import PRODUCTS, VODKA

    scanner = store.scanners.get("lane-1")
    if scanner is None or item.product not in (VODKA, PRODUCTS[4]):
        return
    await asyncio.sleep(pause_s)  # time to see the kiosk ask for it
    if item.product is VODKA:
        scanner.scan(item.stamp)
        out.write("  lane-1: the shopper scans the vodka's excise stamp (sold through the УТМ at payment)\n")
    else:
        scanner.scan(store.max_id.issue(age_over=18))
        out.write("  lane-1: the shopper shows the digital ID's QR for the energy drink: no staff needed\n")
    out.flush()
