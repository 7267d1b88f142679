"""``edge-agent run``: the daemon as a system service, JSON lines on stderr, SIGTERM or SIGINT
stop it gracefully."""

from __future__ import annotations

import asyncio
import json
import logging
import signal

from edge_agent.config import Config

log = logging.getLogger("edge_agent.daemon")


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "ts": round(record.created, 3),
            "level": record.levelname,
            "logger": record.name,
            "msg": record.getMessage(),
        }
        if record.exc_info:
            entry["exc"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


def json_logs(level: str) -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(JsonFormatter())
    logging.basicConfig(level=level, handlers=[handler], force=True)


def run_forever(config: Config) -> None:
    """``edge-agent run``: JSON logs on stderr; SIGTERM or SIGINT stop it gracefully."""
    from edge_agent.daemon import Daemon

    json_logs(config.agent.log_level)

    async def main() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        log.info(
            "edge-agent %s starting: %d readers, %d lanes", config.agent.id, len(config.readers), len(config.lanes)
        )
        await Daemon(config).run(stop)
        log.info("edge-agent stopped")

    asyncio.run(main())
