"""Central names every caller (docs/security.md, docs/mqtt.md): a real Mosquitto with the
generated ACL and ``use_username_as_clientid``, central's simulated services, and an attacker
holding one agent's credentials (agent-1), talking MQTT 5 as any client would."""

from __future__ import annotations

import json
import queue
import threading
import time
from typing import Any

import paho.mqtt.client as paho
import pytest
from paho.mqtt.enums import CallbackAPIVersion, MQTTProtocolVersion

from edge_agent.wire import envelope
from edge_agent.wire.topics import cmd
from sim.central import loyalty
from sim.central.node import CentralNode
from tests.integration.broker import PASSWORD, Mosquitto
from tests.integration.syncenv import rows, settle


class Client:
    """An MQTT 5 client with a user's credentials: what it publishes and the PUBACK codes it gets."""

    def __init__(self, broker: Mosquitto, user: str, client_id: str | None = None) -> None:
        self.acks: dict[int, int] = {}
        self.got: queue.Queue[tuple[str, dict[str, Any]]] = queue.Queue()
        self.disconnects = 0
        self.connected = threading.Event()
        self.c = paho.Client(
            CallbackAPIVersion.VERSION2, client_id=client_id or user, protocol=MQTTProtocolVersion.MQTTv5
        )
        self.c.username_pw_set(user, PASSWORD)
        self.c.on_publish = lambda c, u, mid, rc, p: self.acks.__setitem__(mid, rc.value)
        self.c.on_message = lambda c, u, m: self.got.put((m.topic, json.loads(m.payload)))
        self.c.on_connect = lambda c, u, f, rc, p: self.connected.set()
        self.c.on_disconnect = lambda *a: setattr(self, "disconnects", self.disconnects + 1)
        self.c.connect("127.0.0.1", broker.port)
        self.c.loop_start()
        assert self.connected.wait(5)

    def publish(self, topic: str, ev: envelope.Event | bytes) -> int:
        """The PUBACK reason code (0 accepted, 0x87 not authorised)."""
        info = self.c.publish(topic, envelope.encode(ev) if isinstance(ev, envelope.Event) else ev, qos=1)
        info.wait_for_publish(5)
        deadline = time.monotonic() + 5
        while info.mid not in self.acks and time.monotonic() < deadline:
            time.sleep(0.01)
        return self.acks[info.mid]

    def ask(
        self,
        service: str,
        op: str,
        data: dict[str, Any],
        source: str = "sco://store-001/agent-1",
        caller: tuple[str, str] = ("store-001", "agent-1"),
    ) -> dict[str, Any]:
        ev = envelope.event(
            source,
            f"{service}.{op}",
            data,
            correlationid=envelope.new_id(),
            replyto="sco/v1/store-001/agent-1/resp",
            idempotencykey=envelope.new_id(),
        )
        assert self.publish(cmd(service, *caller, op), ev) == 0
        while True:
            _, answer = self.got.get(timeout=10)
            if answer.get("correlationid") == ev.correlationid:
                return dict(answer["data"])

    def close(self) -> None:
        self.c.loop_stop()
        self.c.disconnect()


@pytest.fixture
def attacker(mosquitto: Mosquitto, central: CentralNode) -> Any:
    client = Client(mosquitto, "store-001.agent-1")
    client.c.subscribe("sco/v1/store-001/agent-1/resp", qos=1)
    time.sleep(0.2)
    yield client
    client.close()


def test_an_agent_cannot_write_another_agents_commands_or_central_streams(
    mosquitto: Mosquitto, central: CentralNode, attacker: Client
) -> None:
    accrue = envelope.event(
        "sco://store-001/agent-2",
        "loyalty.accrue",
        {"customer": "C-0001", "transaction_id": "fake", "lines": [{"price": 10**6}]},
    )
    assert attacker.publish(cmd("loyalty", "store-001", "agent-2", "accrue"), accrue) == 0x87  # the ACL says no
    assert attacker.publish("svc/v1/loyalty/cmd/accrue", accrue) == 0x87  # nor the old, nameless topic
    snapshot = envelope.event("central://catalog", "catalog.snapshot", {"version": 999_999_999, "products": []})
    assert attacker.publish("sco/v1/store-001/catalog/snapshot", snapshot) == 0x87  # only central writes streams
    posted = envelope.event("sco://store-002/lane-1", "transaction.posted", {"transactionId": "T-x", "totalKop": 1})
    assert attacker.publish("sco/v1/store-002/lane-1/evt/transaction.posted", posted) == 0x87
    # on its own lane's topic, claiming another store: central refuses to record it
    assert attacker.publish("sco/v1/store-001/lane-1/evt/transaction.posted", posted) == 0
    settle(central, lambda: rows(central, "SELECT code FROM refused WHERE code = 'source_mismatch'") != [])
    assert rows(central, "SELECT COUNT(*) FROM transactions") == [(0,)]
    assert loyalty.balance(central.conn, "C-0001") == 500  # nothing accrued


def test_a_batch_cannot_smuggle_another_lanes_or_stores_events(
    mosquitto: Mosquitto, central: CentralNode, attacker: Client
) -> None:
    mine = envelope.event("sco://store-001/lane-1", "basket.opened", {"basket": "b-1"})
    posted = {"transactionId": "T-y", "totalKop": 1}
    other_store = envelope.event("sco://store-002/lane-1", "transaction.posted", posted)
    other_lane = envelope.event("sco://store-001/lane-2", "transaction.posted", posted)
    batch = envelope.encode_batch([envelope.encode(e) for e in (mine, other_store, other_lane)])
    assert attacker.publish("sco/v1/store-002/lane-1/evt/batch", batch) == 0x87  # the ACL says no
    assert attacker.publish("sco/v1/store-001/lane-1/evt/batch", batch) == 0  # its own lane: central sorts it
    assert attacker.publish("sco/v1/store-001/lane-1/evt/batch", b"[1, {}]") == 0
    settle(central, lambda: len(rows(central, "SELECT code FROM refused WHERE code = 'source_mismatch'")) == 2)
    assert rows(central, "SELECT source, id FROM events") == [mine.key]  # only the lane's own event
    assert rows(central, "SELECT COUNT(*) FROM transactions") == [(0,)]
    settle(central, lambda: rows(central, "SELECT value FROM counters WHERE name = 'bad_messages'") == [(2,)])


def test_a_poisoned_event_stops_neither_the_sink_nor_the_services(
    mosquitto: Mosquitto, central: CentralNode, attacker: Client
) -> None:
    # a sale whose fields are not what a sale's are: it once raised in the sink, which killed
    # central's network thread (paho re-raises a callback's exception) for every store
    poison = envelope.event(
        "sco://store-001/lane-1", "transaction.posted", {"transactionId": {"$gt": ""}, "totalKop": [1]}
    )
    assert attacker.publish("sco/v1/store-001/lane-1/evt/transaction.posted", poison) == 0
    batch = envelope.encode_batch([envelope.encode(poison), envelope.encode(poison)])
    assert attacker.publish("sco/v1/store-001/lane-1/evt/batch", batch) == 0
    after = envelope.event("sco://store-001/lane-1", "basket.opened", {"basket": "b-2"})
    assert attacker.publish("sco/v1/store-001/lane-1/evt/basket.opened", after) == 0
    settle(central, lambda: (after.key[1],) in rows(central, "SELECT id FROM events"))
    assert rows(central, "SELECT value FROM counters WHERE name = 'transactions.malformed'") == [(1,)]
    assert rows(central, "SELECT COUNT(*) FROM transactions") == [(0,)]
    assert attacker.ask("loyalty", "identify", {"kind": "phone", "ref": "+79990000001", "basket": "b-2"})["ok"]


def test_central_checks_the_caller_and_the_objects_it_touches(central: CentralNode, attacker: Client) -> None:
    # its own topic, another agent's name in the envelope
    answer = attacker.ask(
        "loyalty", "accrue", {"customer": "C-0001", "transaction_id": "T-1"}, source="sco://store-001/agent-2"
    )
    assert answer["error"]["code"] == "caller_mismatch"
    # an accrual for a sale it never took money for
    answer = attacker.ask(
        "loyalty",
        "accrue",
        {"customer": "C-0001", "transaction_id": "never-sold", "lines": [{"price": 1_000_000, "category": ""}]},
    )
    assert answer["error"]["code"] == "no_such_sale" and loyalty.balance(central.conn, "C-0001") == 500
    # a hold without the customer's possession factor, and one that would freeze the balance for 30 years
    hold = {"customer": "C-0002", "points": 10, "basket": "b-1", "ttl_s": 10**9}
    assert attacker.ask("loyalty", "hold", hold)["error"]["code"] == "not_verified"
    shown = attacker.ask(
        "loyalty", "identify", {"kind": "qr", "ref": loyalty.app_qr("LOY:C-0002", time.time()), "basket": "b-1"}
    )
    assert shown["ok"] and shown["result"]["verified"]
    assert attacker.ask("loyalty", "hold", hold)["error"]["code"] == "bad_ttl"
    assert attacker.ask("loyalty", "hold", hold | {"ttl_s": 600})["ok"]
    # another agent's payment: neither read nor refunded
    central.conn.execute(
        "INSERT INTO payments (id, basket, method, amount, instrument, status, created_at, "
        "expires_at, captured_at, owner) VALUES ('P-2', 'b-2', 'card', 5000, 'ok', 'CAPTURED', 0, "
        "9e9, 1, 'store-001/agent-2')"
    )  # agent-2's sale
    for op, data in (("get", {"id": "P-2"}), ("refund", {"payment_id": "P-2", "amount": 5000})):
        assert attacker.ask("payment", op, data)["error"]["code"] == "not_yours"
    assert rows(central, "SELECT refunded FROM payments WHERE id = 'P-2'") == [(0,)]


def test_a_client_id_cannot_be_taken_over(mosquitto: Mosquitto) -> None:
    victim = Client(mosquitto, "store-001.agent-2")
    try:
        thieves = [Client(mosquitto, "store-001.agent-1", client_id="store-001.agent-2") for _ in range(3)]
        time.sleep(0.5)  # a takeover would have disconnected the victim by now
        assert victim.disconnects == 0 and victim.c.is_connected()
        for t in thieves:
            t.close()
    finally:
        victim.close()


def test_confirmations_and_answers_go_to_the_senders_own_topic_not_its_replyto(
    mosquitto: Mosquitto, central: CentralNode, attacker: Client
) -> None:
    """agent-1 (its status says it sends lane-1) names agent-2's response topic as ``replyto``
    on its lane's event and on a command: central stores the event but confirms it nowhere else,
    and answers the command on agent-1's own topic; agent-2 hears nothing."""
    from edge_agent.sync.status import status_payload

    victim = Client(mosquitto, "store-001.agent-2")
    victim.c.subscribe("sco/v1/store-001/agent-2/resp", qos=1)
    status = status_payload("sco://store-001/agent-1", "online", lanes=["lane-1"])
    assert attacker.publish("sco/v1/store-001/agent-1/status", status) == 0
    settle(central, lambda: rows(central, "SELECT COUNT(*) FROM agents WHERE agent = 'agent-1'") == [(1,)])
    redirected = envelope.event(
        "sco://store-001/lane-1", "basket.opened", {"basket": "b-r"}, replyto="sco/v1/store-001/agent-2/resp"
    )
    assert attacker.publish("sco/v1/store-001/lane-1/evt/basket.opened", redirected) == 0
    answer = attacker_ask_redirected(attacker)
    assert answer["ok"] is True  # answered, on agent-1's own topic
    honest = envelope.event(
        "sco://store-001/lane-1", "basket.opened", {"basket": "b-h"}, replyto="sco/v1/store-001/agent-1/resp"
    )
    assert attacker.publish("sco/v1/store-001/lane-1/evt/basket.opened", honest) == 0
    deadline = time.monotonic() + 10
    confirmed: list[str] = []
    while honest.id not in confirmed and time.monotonic() < deadline:  # its own confirmation came
        _, msg = attacker.got.get(timeout=10)
        if msg.get("type") == "events.confirmed":
            confirmed += msg["data"]["ids"]
    assert honest.id in confirmed and redirected.id not in confirmed
    assert rows(central, "SELECT COUNT(*) FROM events WHERE id = ?", redirected.id) == [(1,)]  # stored all the same
    assert victim.got.empty()  # nothing was sent to another agent's topic
    assert central_counter(central, "replyto_refused") == 2
    victim.close()


def attacker_ask_redirected(attacker: Client) -> dict[str, Any]:
    ev = envelope.event(
        "sco://store-001/agent-1",
        "loyalty.identify",
        {"kind": "card", "ref": "2900000000017", "basket": "b-r"},
        correlationid=envelope.new_id(),
        replyto="sco/v1/store-001/agent-2/resp",
    )
    assert attacker.publish(cmd("loyalty", "store-001", "agent-1", "identify"), ev) == 0
    while True:
        topic, answer = attacker.got.get(timeout=10)
        if answer.get("correlationid") == ev.correlationid:
            assert topic == "sco/v1/store-001/agent-1/resp"
            return dict(answer["data"])


def central_counter(central: CentralNode, name: str) -> int:
    from sim.central import db

    return db.counter(central.conn, name)
