"""What the HTTP API works with, in one typed value built complete (docs/adr/0008-composition-root.md).

The daemon builds every part in order and then one ``Services``; the API receives it through one
FastAPI dependency (``api/deps.py``). It carries no behaviour of its own: the lanes, the store's
repositories, the checkout (when sync with central is on), the code checks, staff sign-in and
devices, the limiters, the WebSocket hub, the attendant's queue, health and the metrics.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from edge_agent.attendant import AttendantQueue
from edge_agent.config import Config
from edge_agent.fiscal.desk import Fiscal
from edge_agent.gate.gates import Gates
from edge_agent.health import StoreHealth
from edge_agent.hub import Hub
from edge_agent.lane_faults import LaneFaults
from edge_agent.lanes import Lanes
from edge_agent.metrics import Metrics
from edge_agent.repositories import Repositories
from edge_agent.security.connections import ConnectionLimits
from edge_agent.security.devices import Devices
from edge_agent.security.single_use import SingleUse
from edge_agent.security.staff import Tokens
from edge_agent.security.throttle import FairShare, RateLimiter, Window
from edge_agent.verify.checks import CodeChecks

if TYPE_CHECKING:  # with MQTT off, paho is never loaded
    from edge_agent.payment.flow import CheckoutFlow
    from edge_agent.payment.returns import Returns
    from edge_agent.sync.agent import Sync


@dataclass(frozen=True, slots=True)
class Limits:
    """The public page's requests per address, its live checks (all phones together), and
    loyalty look-ups per lane."""

    public: RateLimiter
    public_checks: FairShare
    identify: Window
    #: the app's loyalty QR: once, on the basket where it was first shown
    loyalty_qr: SingleUse
    #: one-time codes texted per phone number (or card), per hour and per day
    codes_hour: Window
    codes_day: Window
    #: the HTTP server's connections: per address, in all, a share kept for enrolled devices
    connections: ConnectionLimits

    @classmethod
    def of(cls, config: Config) -> Limits:
        http = config.http
        return cls(
            public=RateLimiter(http.public_rate_per_s, http.public_burst),
            public_checks=FairShare(http.public_checks_per_s),
            identify=Window(config.security.identify_per_min),
            loyalty_qr=SingleUse(),
            codes_hour=Window(config.security.codes_per_phone_hour, 3600.0),
            codes_day=Window(config.security.codes_per_phone_day, 86400.0),
            connections=ConnectionLimits.for_process(http.max_connections_per_client, http.max_connections),
        )


@dataclass(frozen=True, slots=True, kw_only=True)
class Services:
    config: Config
    records: Repositories
    lanes: Lanes
    checks: CodeChecks
    metrics: Metrics
    hub: Hub
    health: StoreHealth
    attendant: AttendantQueue
    tokens: Tokens
    devices: Devices
    limits: Limits
    #: the lanes' fiscal registers (none configured: no receipts printed here)
    fiscal: Fiscal
    gates: Gates | None = None
    sync: Sync | None = None
    checkout: CheckoutFlow | None = None
    returns: Returns | None = None
    #: what stops each lane now (register, central, its kiosk, the disk), pushed as it changes
    faults: LaneFaults | None = None
    #: the base of the Digital Link URIs on receipts and tags (the demo points it at itself)
    public_base_url: str = ""
