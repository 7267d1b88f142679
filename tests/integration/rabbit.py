"""A three-node RabbitMQ cluster on this machine for the tests (Debian's rabbitmq-server 3.10
with rabbitmq_mqtt), started by the tests themselves: distinct node names, ports and data
directories, one Erlang cookie, formed by classic peer discovery. Users come from a definitions
file (SHA-256 password hashes, as RabbitMQ stores them). ``kill(n)`` is a crash of node n."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Sequence
from pathlib import Path

from tests.integration.pcscd import free_port_pair

SERVER = Path("/usr/lib/rabbitmq/bin/rabbitmq-server")


def password_hash(password: str, salt: bytes | None = None) -> str:
    """RabbitMQ's rabbit_password_hashing_sha256: Base64(salt ‖ SHA-256(salt ‖ password))."""
    salt = salt if salt is not None else os.urandom(4)
    return base64.b64encode(salt + hashlib.sha256(salt + password.encode()).digest()).decode()


class RabbitCluster:
    def __init__(self, workdir: Path, users: Sequence[str], password: str, nodes: int = 3) -> None:
        self.users, self.password = list(users), password
        if not SERVER.exists():
            raise RuntimeError("Debian's rabbitmq-server is not installed: `make test` installs it (scripts/setup.sh)")
        self.dir = workdir
        self.dir.mkdir(parents=True, exist_ok=True)
        home = self.dir / "home"
        home.mkdir(exist_ok=True)
        cookie = home / ".erlang.cookie"
        cookie.write_text("edge-agent-test-cluster-" + os.urandom(8).hex())
        cookie.chmod(0o400)
        self.names = [f"rabbit{n + 1}-{os.getpid()}@localhost" for n in range(nodes)]
        ports = [free_port_pair(3) for _ in range(nodes)]
        self.amqp_ports = list(ports)
        self.mqtt_ports = [p + 1 for p in ports]
        self.dist_ports = [p + 2 for p in ports]
        defs = {
            "users": [
                {
                    "name": u,
                    "password_hash": password_hash(password),
                    "tags": ["administrator"],
                    "hashing_algorithm": "rabbit_password_hashing_sha256",
                }
                for u in users
            ],
            "vhosts": [{"name": "/"}],
            "permissions": [{"user": u, "vhost": "/", "configure": ".*", "write": ".*", "read": ".*"} for u in users],
        }
        (self.dir / "definitions.json").write_text(json.dumps(defs))
        (self.dir / "enabled_plugins").write_text("[rabbitmq_mqtt].\n")
        self.procs: list[subprocess.Popen[bytes] | None] = [None] * nodes
        for n in range(nodes):
            discovery = [
                f"cluster_formation.classic_config.nodes.{i + 1} = {name}" for i, name in enumerate(self.names)
            ]
            conf = [
                f"listeners.tcp.default = 127.0.0.1:{self.amqp_ports[n]}",
                f"mqtt.listeners.tcp.default = 127.0.0.1:{self.mqtt_ports[n]}",
                "mqtt.allow_anonymous = false",
                "loopback_users = none",
                f"load_definitions = {self.dir / 'definitions.json'}",
                "cluster_formation.peer_discovery_backend = classic_config",
                *discovery,
                "log.console = false",
                "log.file.level = warning",
            ]
            (self.dir / f"node{n}.conf").write_text("\n".join(conf) + "\n")

    def _env(self, n: int) -> dict[str, str]:
        d = self.dir
        return {
            **os.environ,
            "HOME": str(d / "home"),
            "RABBITMQ_NODENAME": self.names[n],
            "RABBITMQ_CONFIG_FILE": str(d / f"node{n}.conf"),
            "RABBITMQ_MNESIA_BASE": str(d / "mnesia"),
            "RABBITMQ_LOG_BASE": str(d / "log"),
            "RABBITMQ_ENABLED_PLUGINS_FILE": str(d / "enabled_plugins"),
            "RABBITMQ_DIST_PORT": str(self.dist_ports[n]),
            "RABBITMQ_PID_FILE": str(d / f"node{n}.pid"),
            "RABBITMQ_CONF_ENV_FILE": "/dev/null",
            "RABBITMQ_ADVANCED_CONFIG_FILE": str(d / "none.config"),
        }

    def start(self, nodes: Sequence[int] | None = None, timeout_s: float = 120) -> RabbitCluster:
        """Start ``nodes`` (all: one after the other, each joining the ones up: nodes started
        together race to cluster) and wait until each accepts an MQTT client."""
        which = list(range(len(self.names)) if nodes is None else nodes)
        for batch in [[n] for n in which]:
            for n in batch:
                log = (self.dir / f"node{n}.out").open("ab")
                self.procs[n] = subprocess.Popen(
                    [str(SERVER)], env=self._env(n), stdout=log, stderr=log, cwd=self.dir, start_new_session=True
                )
            deadline = time.monotonic() + timeout_s
            for n in batch:  # listening, and its users imported (the listener opens before the definitions load)
                while not self._accepts(self.mqtt_ports[n]):
                    proc = self.procs[n]
                    if proc is not None and proc.poll() is not None:
                        raise RuntimeError(
                            f"rabbitmq node {n} exited: {(self.dir / f'node{n}.out').read_text()[-2000:]}"
                        )
                    if time.monotonic() > deadline:
                        raise RuntimeError(f"rabbitmq node {n} did not start")
                    time.sleep(0.1)
        return self

    def _accepts(self, port: int) -> bool:
        """An MQTT CONNECT as the first user is accepted (CONNACK return code 0)."""
        user, pw = self.users[0].encode(), self.password.encode()
        client = f"probe-{port}-{os.urandom(3).hex()}".encode()
        body = b"\x00\x04MQTT\x04\xc2\x00\x0a" + len(client).to_bytes(2, "big") + client
        body += len(user).to_bytes(2, "big") + user
        body += len(pw).to_bytes(2, "big") + pw
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
                s.sendall(b"\x10" + bytes([len(body)]) + body)
                return s.recv(4)[3:4] == b"\x00"
        except OSError:
            return False

    def running(self) -> list[str]:
        """The cluster's running nodes, as node 0 (or the first live one) sees them."""
        live = next(n for n, p in enumerate(self.procs) if p is not None and p.poll() is None)
        ctl = [
            str(SERVER.parent / "rabbitmqctl"),
            "-n",
            self.names[live],
            "-q",
            "cluster_status",
            "--formatter",
            "json",
        ]
        out = subprocess.run(ctl, env=self._env(live), capture_output=True, text=True, timeout=60, check=False)
        if out.returncode != 0:  # still booting
            return []
        return sorted(json.loads(out.stdout)["running_nodes"])

    def queue_depths(self) -> dict[str, int]:
        """Each queue's messages (ready and unacknowledged), as a live node sees them."""
        live = next(n for n, p in enumerate(self.procs) if p is not None and p.poll() is None)
        ctl = [
            str(SERVER.parent / "rabbitmqctl"),
            "-n",
            self.names[live],
            "-q",
            "list_queues",
            "name",
            "messages",
            "--formatter",
            "json",
        ]
        out = subprocess.run(ctl, env=self._env(live), capture_output=True, text=True, timeout=60, check=True)
        return {q["name"]: int(q["messages"]) for q in json.loads(out.stdout)}

    def kill(self, n: int) -> None:
        proc = self.procs[n]
        if proc is not None and proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)  # the node's shell and its Erlang VM
            proc.wait(10)
        self.procs[n] = None

    def stop(self) -> None:
        for n in range(len(self.names)):
            self.kill(n)
        shutil.rmtree(self.dir / "mnesia", ignore_errors=True)
