"""A private pcscd with vsmartcard's vpcd driver, started and stopped by the tests.

pcscd 1.9 always serves /run/pcscd/pcscd.comm, so only one can run on a machine: test
workers take turns through a file lock, and if a pcscd that is not ours is already running
the tests say so instead of fighting it.
"""

from __future__ import annotations

import fcntl
import os
import random
import shutil
import socket
import subprocess
import time
from pathlib import Path

VPCD_DRIVER = Path("/usr/lib/pcsc/drivers/serial/libifdvpcd.so")
PID_FILE = Path("/run/pcscd/pcscd.pid")
LOCK_FILE = Path("/tmp/edge-agent-pcscd.lock")


def free_port_pair(count: int = 2) -> int:
    """A port p with p .. p+count-1 free (vpcd opens two reader slots; sim crpt six ports;
    a RabbitMQ node three). Chosen below the kernel's ephemeral range, so that the outgoing
    connections of everything else running (their source ports) cannot take it between now
    and the moment the server binds it."""
    low, _ = (int(v) for v in Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split())
    for _ in range(200):
        port = random.randrange(10_000, max(10_001, low - count))
        try:
            for offset in range(count):
                with socket.socket() as s:
                    s.bind(("0.0.0.0", port + offset))
        except OSError:
            continue
        return port
    raise RuntimeError(f"no {count} consecutive free TCP ports")


class Pcscd:
    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.port = free_port_pair()
        self.proc: subprocess.Popen[bytes] | None = None
        self.log = workdir / "pcscd.log"
        self._lock: int | None = None

    def __enter__(self) -> Pcscd:
        self._lock = os.open(LOCK_FILE, os.O_CREAT | os.O_RDWR, 0o600)
        fcntl.flock(self._lock, fcntl.LOCK_EX)  # another test worker may be using pcscd
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        try:
            self.stop()
        finally:
            if self._lock is not None:
                os.close(self._lock)  # releases the lock
                self._lock = None

    def configure(self, with_vpcd: bool = True) -> None:
        conf = self.workdir / "reader.conf.d"
        shutil.rmtree(conf, ignore_errors=True)
        conf.mkdir(parents=True)
        if with_vpcd:
            (conf / "vpcd").write_text(
                f'FRIENDLYNAME "Virtual PCD"\nDEVICENAME /dev/null:{self.port}\n'
                f"LIBPATH {VPCD_DRIVER}\nCHANNELID {self.port}\n"
            )

    def start(self, with_vpcd: bool = True) -> None:
        if PID_FILE.exists():
            try:
                pid = int(PID_FILE.read_text().strip() or 0)
                os.kill(pid, 0)
                raise RuntimeError(
                    f"another pcscd (pid {pid}) is running; the PC/SC tests start their own: "
                    "stop it first (systemctl stop pcscd.socket pcscd)"
                )
            except (ProcessLookupError, ValueError):  # stale files of a pcscd that died
                PID_FILE.unlink(missing_ok=True)
                Path("/run/pcscd/pcscd.comm").unlink(missing_ok=True)
        self.configure(with_vpcd)
        with self.log.open("ab") as log:
            self.proc = subprocess.Popen(
                ["pcscd", "--foreground", "--info", "--config", str(self.workdir / "reader.conf.d")],
                stdout=log,
                stderr=subprocess.STDOUT,
            )
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if Path("/run/pcscd/pcscd.comm").exists() and (not with_vpcd or self._vpcd_listening()):
                return
            if self.proc.poll() is not None:
                raise RuntimeError(f"pcscd exited: {self.log.read_text()[-2000:]}")
            time.sleep(0.05)
        raise RuntimeError("pcscd did not come up in 10 s")

    def _vpcd_listening(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), 0.2):
                pass
        except OSError:
            return False
        time.sleep(0.3)  # let vpcd notice the probe closed before a real card connects
        return True

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
            self.proc = None

    def restart(self, with_vpcd: bool = True) -> None:
        self.stop()
        self.start(with_vpcd)
