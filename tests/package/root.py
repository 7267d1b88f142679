"""A fresh Debian 12 root in its own mount, PID and network namespaces (only loopback), for
trying the packages as a store server would get them. No systemd runs in it: the daemon is
started the way the unit's ``ExecStart`` says (user, environment, working directory), and
what systemd would do around a package's scripts the test does by hand, saying so.

The root comes from ``debootstrap --variant=minbase`` with Debian's packages (what a store
server's base image has: python3, pcscd), made once and kept as a tarball under
``$EDGE_AGENT_ROOT_CACHE`` (default /var/cache/edge-agent-test): a new one is made when missing.
"""

from __future__ import annotations

import configparser
import hashlib
import os
import shlex
import shutil
import signal
import subprocess
import tarfile
import time
from pathlib import Path

SUITE = "bookworm"
MIRROR = os.environ.get("EDGE_AGENT_DEBIAN_MIRROR", "http://deb.debian.org/debian")
# a store server's base: Debian's python3 and the PC/SC stack the readers need
INCLUDE = "python3,libpcsclite1,pcscd,libusb-1.0-0,ca-certificates"
CACHE = Path(os.environ.get("EDGE_AGENT_ROOT_CACHE", "/var/cache/edge-agent-test"))


def base_tarball() -> Path:
    key = hashlib.sha256(f"{SUITE} {MIRROR} {INCLUDE}".encode()).hexdigest()[:12]
    tar = CACHE / f"{SUITE}-minbase-{key}.tar"
    if tar.exists():
        return tar
    CACHE.mkdir(parents=True, exist_ok=True)
    build = CACHE / f"build-{os.getpid()}"
    shutil.rmtree(build, ignore_errors=True)
    subprocess.run(
        ["debootstrap", "--variant=minbase", f"--include={INCLUDE}", SUITE, str(build), MIRROR],
        check=True,
        capture_output=True,
        timeout=900,
    )
    (build / "etc/apt/sources.list").unlink(missing_ok=True)  # a store reaches only its chain's repository
    partial = tar.with_suffix(".partial")
    subprocess.run(["tar", "-C", str(build), "-cf", str(partial), "."], check=True)
    partial.rename(tar)
    shutil.rmtree(build, ignore_errors=True)
    return tar


class Root:
    """One fresh root, its namespaces held open by a ``sleep`` that is PID 1 in them."""

    def __init__(self, path: Path) -> None:
        self.path = path
        path.mkdir(parents=True)
        with tarfile.open(base_tarball()) as tar:
            tar.extractall(path, filter="fully_trusted")
        where = shlex.quote(str(path))
        script = f"ip link set lo up && mount -t proc proc {where}/proc && exec chroot {where} sleep infinity"
        self._holder = subprocess.Popen(
            ["unshare", "--mount", "--net", "--pid", "--fork", "--kill-child", "sh", "-c", script]
        )
        self.pid = self._child()
        self._background: list[subprocess.Popen[bytes]] = []

    def _child(self) -> int:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            children = Path(f"/proc/{self._holder.pid}/task/{self._holder.pid}/children")
            pids = children.read_text().split() if children.exists() else []
            if pids and os.readlink(f"/proc/{pids[0]}/root") == str(self.path):
                return int(pids[0])
            time.sleep(0.05)
        raise RuntimeError("the root's namespaces did not come up")

    def _enter(self) -> list[str]:
        return ["nsenter", "-t", str(self.pid), "-m", "-n", "-p", "-r", "-w", "--"]

    def sh(self, command: str, *, check: bool = True, timeout: float = 300) -> subprocess.CompletedProcess[str]:
        """``command`` by /bin/sh inside the root, as root; its output, and an error with it."""
        env = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8"}
        done = subprocess.run(
            [*self._enter(), "/bin/sh", "-c", command],
            capture_output=True,
            text=True,
            timeout=timeout,
            env={**env, "DEBIAN_FRONTEND": "noninteractive"},
            check=False,
        )
        if check and done.returncode != 0:
            raise AssertionError(f"in the root: {command}\nexit {done.returncode}\n{done.stdout}\n{done.stderr}")
        return done

    def spawn(self, command: str, log: str) -> subprocess.Popen[bytes]:
        """``command`` in the background inside the root, its output in ``log`` (a path in it)."""
        env = {"PATH": "/usr/sbin:/usr/bin:/sbin:/bin", "LANG": "C.UTF-8"}
        proc = subprocess.Popen(
            [*self._enter(), "/bin/sh", "-c", f"exec >{log} 2>&1; {command}"], env=env, start_new_session=True
        )
        self._background.append(proc)
        return proc

    def unit_command(self, unit: str = "/lib/systemd/system/edge-agent.service", key: str = "ExecStart") -> str:
        """The unit's ``key`` command as systemd runs it: as its User, with its Environment and
        CREDENTIALS_DIRECTORY, in its WorkingDirectory."""
        parser = configparser.ConfigParser(strict=False, interpolation=None)
        parser.optionxform = str  # type: ignore[assignment,method-assign]
        parser.read_string(self.file(unit).read_text())
        service = parser["Service"]
        env = dict(kv.split("=", 1) for kv in service.get("Environment", "").split())
        env["CREDENTIALS_DIRECTORY"] = "/run/credentials/edge-agent.service"
        assignments = " ".join(f"{k}={shlex.quote(v)}" for k, v in env.items())
        user = service["User"]
        return (
            f"cd {service['WorkingDirectory']} && exec env {assignments} "
            f"setpriv --reuid={user} --regid={service['Group']} --init-groups {service[key]}"
        )

    def file(self, path: str) -> Path:
        return self.path / path.lstrip("/")

    def running(self, needle: str, program: str = "") -> list[int]:
        """PIDs in the root whose command line has ``needle`` (and starts with ``program``)."""
        found = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                if os.readlink(entry / "root") != str(self.path):
                    continue
                cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            except OSError:
                continue
            if needle in cmdline and cmdline.startswith(program):
                found.append(int(entry.name))
        return found

    def close(self) -> None:
        for proc in self._background:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGKILL)
        self._holder.kill()  # --kill-child: PID 1 in the namespace dies, and every process with it
        self._holder.wait(10)
        for proc in self._background:
            proc.wait(10)
        shutil.rmtree(self.path, ignore_errors=True)
