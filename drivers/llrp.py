"""UHF RFID readers over LLRP (TCP, port 5084): the ``Reader`` around the sans-I/O session.

The session (``edge_agent.llrp.session``) decides what to send and what the reader said;
this file only moves bytes: connect, feed frames, write replies, watch the keepalive, and
turn tag reports into ``TagRead``s.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from typing import Annotated, Any, Final, Literal

from pydantic import Field, model_validator

from drivers.base import Backoff, HealthState, Reader, ReaderGone, ReaderSettings, TagRead
from edge_agent.llrp import Framer
from edge_agent.llrp.inventory import OP_READ_TID, OP_READ_USER, InventoryConfig
from edge_agent.llrp.schema import PEN_ALIEN, PEN_IMPINJ, PEN_ZEBRA
from edge_agent.llrp.session import (
    AntennaChanged,
    ClientSession,
    Closed,
    Event,
    Failed,
    InventoryRunning,
    Send,
    Skipped,
    Tags,
)
from edge_agent.logthrottle import ThrottledLog

log = logging.getLogger(__name__)

DEFAULT_PORT: Final = 5084
CONNECT_TIMEOUT_S: Final = 5.0
HANDSHAKE_TIMEOUT_S: Final = 10.0


class LLRPSettings(ReaderSettings):
    """``[[readers]] driver = "llrp"``: a fixed UHF reader on the store network."""

    driver: Literal["llrp"]
    host: str = "127.0.0.1"
    port: Annotated[int, Field(ge=1, le=65535)] = DEFAULT_PORT
    #: words of TID and User memory read with every tag (an AccessSpec; 0: none)
    read_tid_words: Annotated[int, Field(ge=0, le=16)] = 0
    read_user_words: Annotated[int, Field(ge=0, le=64)] = 0
    #: the reader sends a keepalive this often; silent for three periods, it is offline
    keepalive_s: Annotated[float, Field(ge=0.1, le=60)] = 1.0
    #: the reader's kind (docs/readers.md): ``generic`` LLRP, ``impinj`` (Octane extensions:
    #: FastID serialized TID, peak RSSI in 0.01 dBm, search mode), ``zebra`` (FX7500/FX9600:
    #: only its connected antennas, named one by one)
    profile: Literal["generic", "impinj", "zebra"] = "generic"
    #: antennas to read on (empty: all; ``zebra``: all that are connected)
    antennas: tuple[Annotated[int, Field(ge=1, le=64)], ...] = ()
    #: the Gen2 session (0-3) and, on Impinj, the search mode; ``tagfocus`` (single target with
    #: suppression) reads each tag once while it stays in the field: session 1
    session: Annotated[int, Field(ge=0, le=3)] | None = None
    search_mode: Literal["reader_selected", "single_target", "dual_target", "tagfocus"] = "reader_selected"

    @model_validator(mode="after")
    def _profile_settings(self) -> LLRPSettings:
        if self.search_mode != "reader_selected" and self.profile != "impinj":
            raise ValueError(f'search_mode is an Impinj setting (profile = "impinj"), not {self.profile}\'s')
        if self.search_mode == "tagfocus" and self.session not in (None, 1):
            raise ValueError("TagFocus works in session 1")
        return self

    def build(self) -> LLRPReader:
        inventory = InventoryConfig(
            read_tid_words=self.read_tid_words,
            read_user_words=self.read_user_words,
            keepalive_ms=round(self.keepalive_s * 1000),
            profile=self.profile,
            antennas=tuple(self.antennas) or (0,),
            session=self.session,
            search_mode=self.search_mode,
        )
        return LLRPReader(self.id, self.host, self.port, config=inventory)


MAKERS: Final = {PEN_IMPINJ: "Impinj", PEN_ZEBRA: "Zebra", PEN_ALIEN: "Alien"}


def _describe(capabilities: dict[str, Any], session: ClientSession | None) -> dict[str, object]:
    general = capabilities.get("GeneralDeviceCapabilities") or {}
    maker = general.get("DeviceManufacturer")
    return {
        "manufacturer": MAKERS.get(int(maker), maker) if maker is not None else None,
        "model": general.get("Model"),
        "firmware": general.get("FirmwareVersion"),
        "antennas": general.get("MaxSupportedAntennas"),
        "gpos": (general.get("GPIOCapabilities") or {}).get("NumGPOs"),
        "connected": list(session.connected) if session is not None and session.connected else None,
    }


class LLRPReader(Reader):
    def __init__(
        self,
        reader_id: str,
        host: str,
        port: int = DEFAULT_PORT,
        *,
        config: InventoryConfig | None = None,
        backoff: Backoff | None = None,
    ) -> None:
        super().__init__(reader_id, backoff)
        self.host, self.port = host, port
        self.config = config or InventoryConfig()
        self.reads_total = 0
        self.skipped = 0  # messages or parameters from the reader we could not use (never fatal)
        self._noise = ThrottledLog(log)
        self._writer: asyncio.StreamWriter | None = None
        self._session_state: ClientSession | None = None
        self._antennas_down: set[int] = set()
        #: what the reader said about itself at connect (GET_READER_CAPABILITIES): maker, model,
        #: firmware, antennas, GPOs, and the antennas it reported connected (``zebra``)
        self.capabilities: dict[str, object] = {}

    async def _session(self) -> None:
        try:
            reader, writer = await asyncio.wait_for(asyncio.open_connection(self.host, self.port), CONNECT_TIMEOUT_S)
        except (OSError, TimeoutError) as e:
            raise ReaderGone(f"cannot connect to {self.host}:{self.port}: {e or 'timeout'}") from None
        self._writer = writer
        session = self._session_state = ClientSession(self.config)
        framer = Framer()
        # silence longer than three keepalive periods means the reader or the network is gone
        watchdog = max(3 * self.config.keepalive_ms / 1000, 0.3)
        while not self._stopping:
            timeout = watchdog if session.state == "inventory" else HANDSHAKE_TIMEOUT_S
            try:
                async with asyncio.timeout(timeout):
                    data = await reader.read(65536)
            except TimeoutError:
                raise ReaderGone(f"no message from the reader for {timeout:.0f} s") from None
            except OSError as e:
                raise ReaderGone(f"connection lost: {e}") from None
            if not data:
                raise ReaderGone("the reader closed the connection")
            self.heard = time.monotonic()  # any message: the reader is there and reading
            framer.feed(data)
            for frame in framer.frames():
                for event in session.receive_frame(frame):
                    if self._handle(event, writer):
                        return

    def _handle(self, event: Event, writer: asyncio.StreamWriter) -> bool:
        """Act on one session event; True when the connection is over."""
        if isinstance(event, Tags):
            now = time.time()
            for r in event.reports:
                seen = r.first_seen_us / 1e6 if r.first_seen_us else now
                memory = {op: data for op, result, data in r.reads if result == 0}  # 0: read succeeded
                rssi, centi, tid = r.peak_rssi, None, memory.get(OP_READ_TID)
                for name, value in r.extensions:
                    if name == "ImpinjPeakRSSI" and isinstance(value, int):  # hundredths of a dBm, signed
                        rssi, centi = round(value / 100), value
                    elif name == "ImpinjSerializedTID" and isinstance(value, dict):  # FastID: the TID's words
                        tid = b"".join(int(w).to_bytes(2, "big") for w in value.get("TID", ())) or tid
                self._emit(
                    TagRead(
                        self.reader_id,
                        r.antenna or 0,
                        "epc",
                        r.epc.hex().upper(),
                        rssi,
                        seen,
                        tid=tid,
                        user_memory=memory.get(OP_READ_USER),
                        seen_count=r.seen_count or 1,
                        rssi_centi=centi,
                    )
                )
            self.reads_total += len(event.reports)
        elif isinstance(event, Send):
            writer.write(event.frame)
        elif isinstance(event, InventoryRunning):
            self.capabilities = _describe(event.capabilities, self._session_state)
            self._set_health(HealthState.ONLINE, f"inventory running on {self.host}:{self.port}")
            log.info("reader %s: %s", self.reader_id, self.capabilities)
        elif isinstance(event, AntennaChanged):
            (self._antennas_down.discard if event.connected else self._antennas_down.add)(event.antenna)
            if self._antennas_down:
                down = ", ".join(map(str, sorted(self._antennas_down)))
                self._set_health(HealthState.DEGRADED, f"antenna {down} disconnected")
            else:
                self._set_health(HealthState.ONLINE, "all antennas connected")
        elif isinstance(event, Skipped):
            self.skipped += 1
            self._noise.warning(
                event.what.split(":")[0],
                "reader %s: skipped %s (%d skipped so far)",
                self.reader_id,
                event.what,
                self.skipped,
            )
        elif isinstance(event, Failed):
            raise ReaderGone(event.reason)
        elif isinstance(event, Closed):
            if self._stopping:
                return True
            raise ReaderGone(event.reason)
        return False

    def set_gpo(self, port: int, on: bool) -> bool:
        """Drive a GPO port (a gate's light or sounder); False when the reader is not connected."""
        session, writer = self._session_state, self._writer
        if session is None or writer is None or writer.is_closing() or session.state != "inventory":
            return False
        writer.write(session.gpo(port, on).frame)
        return True

    async def _close(self) -> None:
        writer, self._writer = self._writer, None
        session, self._session_state = self._session_state, None
        if writer is None:
            return
        if session is not None and not writer.is_closing():
            with contextlib.suppress(OSError):
                for event in session.close():
                    if isinstance(event, Send):
                        writer.write(event.frame)
                await asyncio.wait_for(writer.drain(), 1.0)
        writer.close()
        with contextlib.suppress(OSError, TimeoutError):
            await asyncio.wait_for(writer.wait_closed(), 1.0)
