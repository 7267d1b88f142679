"""Central's services on a RabbitMQ cluster: competing consumers of quorum queues over AMQP
0-9-1 (pika), the stores speaking MQTT 3.1.1 to the cluster's rabbitmq_mqtt (docs/mqtt.md
"Central on RabbitMQ").

RabbitMQ's MQTT plugin publishes every MQTT message to ``amq.topic`` with the topic's ``/`` as
``.`` (and ``+`` as ``*``) and delivers to an MQTT subscriber what reaches ``amq.topic`` with a
matching key. So central declares durable quorum queues (three replicas) bound to
``amq.topic`` — one per service for commands, one for events, one for agents' status — and
every instance consumes from all of them: each message goes to one instance, a message whose
instance dies before acknowledging it goes to another. An instance acknowledges a delivery
only after its handler committed; answers, confirmations and notifications go back through
``amq.topic`` with the agent's MQTT topic as the key. The handlers and the database are
``CentralNode``'s (exactly once per idempotency key, each event once by (source, id)).

An instance knows every node's address and moves to the next one when its node is gone.
Run: ``edge-agent sim central --amqp 127.0.0.1:5672,127.0.0.1:5673 …``.
"""

from __future__ import annotations

import contextlib
import logging
import sqlite3
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Final

import pika
from pika.adapters.blocking_connection import BlockingChannel

from sim.central import payment
from sim.central.node import SERVICES, CentralNode

log = logging.getLogger("sim.central.amqp")
EXCHANGE: Final = "amq.topic"
#: queue → the routing keys bound to it (MQTT topics with "/" as ".", "+" as "*")
QUEUES: Final[dict[str, tuple[str, ...]]] = {
    "central.loyalty": ("svc.v1.loyalty.cmd.#",),
    "central.payment": ("svc.v1.payment.cmd.#",),
    "central.events": ("sco.v1.*.*.evt.#", "sco.v1.*.trace.epcis"),
    "central.status": ("sco.v1.*.*.status",),
}


def routing_key(topic: str) -> str:
    return topic.replace("/", ".")


def topic_of(routing_key: str) -> str:
    """Back to the MQTT topic's shape (an event type's own dots become levels: cosmetic only)."""
    return routing_key.replace(".", "/")


class AmqpCentral(CentralNode):
    def __init__(
        self,
        db_path: Path | str,
        nodes: Sequence[tuple[str, int]],
        *,
        instance: str = "central-1",
        username: str = "central",
        password: str = "",
        program: str = "magnit_like",
        settings: payment.Settings | None = None,
        prefetch: int = 2000,
    ) -> None:
        super().__init__(db_path, instance=instance, program=program, settings=settings)
        self.nodes = list(nodes)
        self.credentials = pika.PlainCredentials(username, password)
        self.prefetch = prefetch
        self.connection: pika.BlockingConnection | None = None
        self.channel: BlockingChannel | None = None
        self.node_in_use: tuple[str, int] | None = None
        self.reconnects = 0
        self._thread: threading.Thread | None = None
        #: a batch of deliveries handled in one transaction; what it sends waits for the commit
        self._batch: list[tuple[str, bytes, int]] = []
        self._after_commit: list[tuple[str, bytes]] | None = None
        self._confirm_after: list[tuple[str, str]] = []
        self.batch_size = 1000
        self._retry = (sqlite3.OperationalError,)  # the database busy or failing: redelivered, not dropped
        self.confirm_every_s = 0.05  # thousands of stores: fewer, fuller confirmations

    def start(self) -> None:
        self._thread = threading.Thread(target=self._consume, name=f"{self.instance} amqp", daemon=True)
        self._thread.start()
        self._start_workers(events=True)

    def stop(self) -> None:
        self._stop_workers()
        connection = self.connection
        if connection is not None and connection.is_open:
            with contextlib.suppress(Exception):  # already gone
                connection.add_callback_threadsafe(connection.close)
        if self._thread is not None:
            self._thread.join(10)
        self.conn.close()

    def _confirm(self, replyto: str, event_id: str) -> None:
        if self._after_commit is not None:  # in a batch: confirmed once the batch commits
            self._confirm_after.append((replyto, event_id))
        else:
            super()._confirm(replyto, event_id)

    def _publish(self, topic: str, payload: bytes) -> None:
        if self._after_commit is not None and threading.current_thread() is self._thread:
            self._after_commit.append((topic, payload))  # an answer is sent only once it is committed
            return
        connection, channel = self.connection, self.channel
        if connection is None or channel is None or not connection.is_open:
            return  # the node is gone: the agent asks again (same key) or re-sends (same id)
        props = pika.BasicProperties(delivery_mode=2)

        def send() -> None:
            channel.basic_publish(EXCHANGE, routing_key(topic), payload, props)

        if threading.current_thread() is self._thread:
            send()
        else:
            try:
                connection.add_callback_threadsafe(send)
            except Exception as e:  # the connection closed meanwhile
                log.warning("%s: not sent to %s: %s", self.instance, topic, e)

    def _consume(self) -> None:
        n = 0
        while not self._halt.is_set():
            host, port = self.nodes[n % len(self.nodes)]
            try:
                self.connection = pika.BlockingConnection(
                    pika.ConnectionParameters(
                        host,
                        port,
                        credentials=self.credentials,
                        heartbeat=5,
                        blocked_connection_timeout=10,
                        connection_attempts=1,
                        socket_timeout=2,
                    )
                )
                self.node_in_use = (host, port)
                channel = self.channel = self.connection.channel()
                channel.basic_qos(prefetch_count=self.prefetch)
                for queue, keys in QUEUES.items():
                    quorum = {"x-queue-type": "quorum", "x-quorum-initial-group-size": 3}
                    channel.queue_declare(queue, durable=True, arguments=quorum)
                    for key in keys:
                        channel.queue_bind(queue, EXCHANGE, key)
                    channel.basic_consume(queue, self._on_delivery)
                self.ready.set()
                channel.start_consuming()
                return  # closed by stop()
            except Exception as e:  # the node died or refused: the next one
                if self._halt.is_set():
                    return
                self.reconnects += 1
                log.warning(
                    "%s: AMQP on %s:%d lost (%s); trying the next node", self.instance, host, port, type(e).__name__
                )
                self.channel = None
                n += 1
                time.sleep(0.2)

    def _on_delivery(self, channel: BlockingChannel, method: Any, props: Any, body: bytes) -> None:
        """A delivery joins the batch; the batch is handled when full or 20 ms after it began."""
        self._batch.append((topic_of(method.routing_key), body, method.delivery_tag))
        if len(self._batch) == 1 and self.connection is not None:
            self.connection.call_later(0.02, self._flush)
        if len(self._batch) >= self.batch_size:
            self._flush()

    def _flush(self) -> None:
        """Handle the waiting deliveries in one transaction, then send what they answered,
        confirm what they stored and acknowledge them (all of them up to the last tag)."""
        batch, self._batch = self._batch, []
        if not batch or self.channel is None:
            return
        with self._lock:
            self._after_commit, self._confirm_after = [], []
            try:
                self.conn.execute("BEGIN IMMEDIATE")
                for topic, body, _ in batch:
                    self.handle(topic, body)
                self.conn.execute("COMMIT")
            except BaseException:
                if self.conn.in_transaction:
                    self.conn.execute("ROLLBACK")
                self._after_commit = None
                raise  # not acknowledged: redelivered
            sends, confirms = self._after_commit, self._confirm_after
            self._after_commit = None
            for replyto, event_id in confirms:
                super()._confirm(replyto, event_id)
        for topic, payload in sends:
            self._publish(topic, payload)
        self.channel.basic_ack(batch[-1][2], multiple=True)


__all__ = ["SERVICES", "AmqpCentral"]
