"""A real Mosquitto for the tests: persistence on, password file, the generated ACL, and a TLS
listener with a CA made for the run. ``restart()`` keeps the persistence file, as a broker
restart in a store does; ``kill()`` is a crash."""

from __future__ import annotations

import getpass
import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Mapping, Sequence
from pathlib import Path

from edge_agent.sync.acl import acl, agent_user, bridge_user
from tests.integration.pcscd import free_port_pair

PASSWORD = "s3cret-for-tests"
STORES: dict[str, dict[str, list[str]]] = {"store-001": {f"agent-{i}": [f"lane-{i}"] for i in range(1, 11)}}


def make_certs(directory: Path) -> Path:
    """A CA and a server certificate for 127.0.0.1 (openssl, as an operator would)."""
    directory.mkdir(parents=True, exist_ok=True)
    if (directory / "server.crt").exists():
        return directory
    run = lambda *a: subprocess.run(a, check=True, capture_output=True, cwd=directory)  # noqa: E731
    run(
        "openssl",
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "ca.key",
        "-out",
        "ca.crt",
        "-days",
        "2",
        "-subj",
        "/CN=edge-agent test CA",
    )
    run(
        "openssl",
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "server.key",
        "-out",
        "server.csr",
        "-subj",
        "/CN=127.0.0.1",
    )
    (directory / "san.ext").write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
    run(
        "openssl",
        "x509",
        "-req",
        "-in",
        "server.csr",
        "-CA",
        "ca.crt",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-out",
        "server.crt",
        "-days",
        "2",
        "-extfile",
        "san.ext",
    )
    return directory


def shipped_tls() -> list[str]:
    """The TLS listener's protocol settings of the store broker's shipped configuration."""
    conf = Path(__file__).resolve().parents[2] / "config" / "mosquitto" / "mosquitto.conf"
    return [line for line in conf.read_text().splitlines() if line.split(" ", 1)[0] in ("tls_version", "ciphers")]


def shipped_autosave_s() -> int:
    """The ``autosave_interval`` of the store broker's shipped configuration."""
    conf = Path(__file__).resolve().parents[2] / "config" / "mosquitto" / "mosquitto.conf"
    return next(int(line.split()[1]) for line in conf.read_text().splitlines() if line.startswith("autosave_interval"))


class Mosquitto:
    def __init__(
        self,
        workdir: Path,
        stores: Mapping[str, Mapping[str, Sequence[str]]] | None = None,
        anonymous: bool = False,
        autosave_s: int = 1,
        extra: Sequence[str] = (),
        bridges: bool = False,
    ) -> None:
        self.dir = workdir
        self.dir.mkdir(parents=True, exist_ok=True)
        base = free_port_pair(2)
        self.port, self.tls_port = base, base + 1
        self.certs = make_certs(self.dir / "certs")
        self.stores = stores or STORES
        self.central_users = ["central", *(f"central-{i}" for i in range(1, 5))]
        self.users = [agent_user(s, a) for s, agents in self.stores.items() for a in agents] + [
            *self.central_users,
            "bench",
        ]
        self.users += [bridge_user(s) for s in self.stores] if bridges else []
        passwd = self.dir / "passwd"
        passwd.write_text("")
        for user in self.users:
            subprocess.run(["mosquitto_passwd", "-b", str(passwd), user, PASSWORD], check=True, capture_output=True)
        text = acl(self.stores, self.central_users, bridges=bridges)
        text += "\nuser bench\ntopic readwrite #\n"
        (self.dir / "acl").write_text(text)
        (self.dir / "data").mkdir(exist_ok=True)
        conf = [
            "per_listener_settings false",
            f"allow_anonymous {'true' if anonymous else 'false'}",
            f"password_file {passwd}",
            f"acl_file {self.dir / 'acl'}",
            "persistence true",
            f"persistence_location {self.dir / 'data'}/",
            f"autosave_interval {autosave_s}",
            "max_queued_messages 500000",
            "max_inflight_messages 100",
            "set_tcp_nodelay true",
            f"user {getpass.getuser()}",
            "log_type error",
            "log_type warning",
            # per listener (it is a listener's setting, whatever per_listener_settings says)
            f"listener {self.port} 127.0.0.1",
            "use_username_as_clientid true",
            f"listener {self.tls_port} 127.0.0.1",
            "use_username_as_clientid true",
            f"cafile {self.certs / 'ca.crt'}",
            f"certfile {self.certs / 'server.crt'}",
            f"keyfile {self.certs / 'server.key'}",
            *shipped_tls(),
            *extra,
        ]
        (self.dir / "mosquitto.conf").write_text("\n".join(conf) + "\n")
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> Mosquitto:
        exe = shutil.which("mosquitto") or "/usr/sbin/mosquitto"
        log = (self.dir / "mosquitto.log").open("ab")
        self.proc = subprocess.Popen([exe, "-c", str(self.dir / "mosquitto.conf")], stdout=log, stderr=log)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"mosquitto exited: {(self.dir / 'mosquitto.log').read_text()[-2000:]}")
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.2).close()
                return self
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("mosquitto did not start")

    def stop(self) -> None:
        """A clean stop: mosquitto writes its persistence file first."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(10)
        self.proc = None

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait(10)
        self.proc = None

    def restart(self, down_s: float = 0.0) -> None:
        self.stop()
        time.sleep(down_s)
        self.start()


def bridge_lines(central: Mosquitto, store: str = "store-001") -> list[str]:
    """The shipped bridge configuration (config/mosquitto/bridge.conf), pointed at ``central``'s
    TLS listener: the lines to start a store broker with."""
    conf = Path(__file__).resolve().parents[2] / "config" / "mosquitto" / "bridge.conf"
    text = conf.read_text().replace("CENTRAL_HOST:8883", f"127.0.0.1:{central.tls_port}")
    text = text.replace("STORE_ID", store).replace("CENTRAL_PASSWORD", PASSWORD)
    text = text.replace("/etc/mosquitto/certs/central-ca.crt", str(central.certs / "ca.crt"))
    return [line for line in text.splitlines() if line and not line.startswith("#")]
