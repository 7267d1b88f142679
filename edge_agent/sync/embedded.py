"""An embedded MQTT broker (amqtt, MIT) for ``make demo`` and single-machine trials, when no
store broker is configured (``[mqtt] broker = "embedded"``).

It speaks MQTT 3.1.1 only, keeps nothing across restarts, has no ACLs and no shared
subscriptions, which is why the request/response metadata travels in the CloudEvents payload
and why production uses Mosquitto (config/mosquitto/, docs/mqtt.md). Loopback by default.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

log = logging.getLogger("edge_agent.sync.embedded")


class EmbeddedBroker:
    def __init__(self, host: str = "127.0.0.1", port: int = 1883) -> None:
        self.host, self.port = host, port
        self._broker: Any = None

    async def start(self) -> EmbeddedBroker:
        from amqtt.broker import Broker

        for name in ("amqtt", "transitions"):
            logging.getLogger(name).setLevel(logging.WARNING)
        config = {
            "listeners": {"default": {"type": "tcp", "bind": f"{self.host}:{self.port}"}},
            "plugins": {"amqtt.plugins.authentication.AnonymousAuthPlugin": {"allow_anonymous": True}},
        }
        self._broker = Broker(config)
        await self._broker.start()
        log.info("embedded MQTT broker (amqtt, MQTT 3.1.1) on %s:%d", self.host, self.port)
        return self

    async def stop(self) -> None:
        if self._broker is not None:
            try:  # amqtt waits for its clients to go; a client that does not must not hold the daemon
                await asyncio.wait_for(self._broker.shutdown(), 5)
            except TimeoutError:
                log.warning("the embedded broker did not shut down within 5 s; leaving it")
            self._broker = None
