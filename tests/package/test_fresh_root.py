"""The Debian packages on a fresh Debian 12 root (``make package-test``): installed with apt,
checked, started as the unit starts them, selling, upgraded from the previous release over a
live store, refused as a downgrade, purged. Each step is what a chain's IT does on a store
server; where systemd would act (starting, restarting, stopping the unit) the test does it by
the unit's own lines and says so."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import ROOT
from tests.package.root import Root

UV = Path(sys.executable).with_name("uv")
PREVIOUS = dict(line.split("=", 1) for line in (ROOT / "packaging/previous-release").read_text().split() if "=" in line)
MACHINE = "0123456789abcdef0123456789abcdef"  # apt's machine id: the same phase on every run
KEY = "edge-agent test repository <repo@edge-agent.test>"

STORE = """\
[store]
id = "store-pkg"
name = "Package test store"
timezone = "Europe/Moscow"
region = "77"
[agent]
id = "sco-1"
data_dir = "/var/lib/edge-agent"
[http]
host = "127.0.0.1"
port = 8080
ops_token_file = "ops-token"
[mqtt]
broker = "embedded"
protocol = "3.1.1"
host = "127.0.0.1"
port = 1883
[verify]
ts_piot_url = "http://127.0.0.1:18080"
true_api_cdn_url = "http://127.0.0.1:18081"
local_module_url = "http://127.0.0.1:18082"
local_module_user = "admin"
local_module_password_file = "local-module-password"
client_id = "9999078900012345"
[fiscal]
taxation = "osn"
[[fiscal.registers]]
lane = "lane-1"
url = "http://127.0.0.1:16732"
device_id = "default"
[[readers]]
id = "box-1"
driver = "llrp"
host = "127.0.0.1"
port = 5084
[[lanes]]
id = "lane-1"
mode = "box"
[[lanes.zones]]
reader = "box-1"
"""
# the test store's: the simulated Local Module has its factory login (allowed outside production)
SECRETS = {"mqtt-password": "Mq7-store-secret", "local-module-password": "admin", "ops-token": "Op5-token-for-ops"}
# a real store's, for the shipped (production) example
STORE_SECRETS = {"mqtt-password": "Mq7-store-secret", "local-module-password": "Lm9-store", "ops-token": "Op5-ops"}


def wait_for(check: Callable[[], Any], what: str, timeout: float = 90.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        got = check()
        if got:
            return got
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.5)


def build(source: Path, out: Path) -> dict[str, Path]:
    # this tree's build script for both: the previous release's tree, its lock and its maintainer
    # scripts, packaged the same way (0.2.0's script could lose a race on a pipe)
    done = subprocess.run(
        [str(ROOT / "packaging/build-deb.sh")],
        env={**os.environ, "OUT": str(out), "UV": str(UV), "SOURCE": str(source)},
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert done.returncode == 0, f"{source}: make package failed\n{done.stdout}\n{done.stderr[-3000:]}"
    return {deb.name.split("_")[0]: deb for deb in out.glob("*.deb")}


@pytest.fixture(scope="module")
def debs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Path]]:
    """This tree's packages, and the previous release's built from its commit."""
    work = tmp_path_factory.mktemp("debs")
    src = work / "previous-src"
    src.mkdir()
    archive = subprocess.run(["git", "archive", PREVIOUS["commit"]], cwd=ROOT, capture_output=True, check=True)
    subprocess.run(["tar", "-x", "-C", str(src)], input=archive.stdout, check=True)
    return {"new": build(ROOT, work / "new"), "previous": build(src, work / "previous")}


@pytest.fixture(scope="module")
def gnupg(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """A throw-away signing key, as the chain's would be."""
    home = tmp_path_factory.mktemp("gnupg")
    home.chmod(0o700)
    env = {**os.environ, "GNUPGHOME": str(home)}
    subprocess.run(
        ["gpg", "--batch", "--passphrase", "", "--quick-gen-key", KEY, "ed25519", "sign", "never"],
        env=env,
        check=True,
        capture_output=True,
    )
    return {"GNUPGHOME": str(home), "REPO_KEY": "repo@edge-agent.test"}


@pytest.fixture
def root(tmp_path: Path) -> Iterator[Root]:
    r = Root(tmp_path / "root")
    try:
        yield r
    finally:
        r.close()


def publish(root: Root, gnupg: dict[str, str], debs: list[Path], phase: int, tmp: Path) -> None:
    """The chain's repository (make repo) with ``debs``, as this store's apt sees it."""
    repo = tmp / "repo"
    subprocess.run(
        [str(ROOT / "packaging/build-repo.sh")],
        env={**os.environ, **gnupg, "REPO": str(repo), "DEBS": " ".join(map(str, debs)), "PHASE": str(phase)},
        check=True,
        capture_output=True,
    )
    served = root.file("/srv/repo")
    subprocess.run(["rm", "-rf", str(served)], check=True)
    subprocess.run(["cp", "-a", str(repo), str(served)], check=True)
    keyring = root.file("/usr/share/keyrings/edge-agent-archive-keyring.gpg")
    keyring.write_bytes((repo / "edge-agent-archive-keyring.gpg").read_bytes())
    root.file("/etc/apt/sources.list.d/edge-agent.sources").write_text(
        "Types: deb\nURIs: file:/srv/repo\nSuites: stable\nComponents: main\n"
        "Signed-By: /usr/share/keyrings/edge-agent-archive-keyring.gpg\n"
    )
    root.sh("apt-get update -q")


def configure(root: Root) -> None:
    """What the store's IT puts in place: its configuration and the unit's credentials."""
    root.file("/etc/edge-agent/edge-agent.toml").write_text(STORE)
    for name, value in SECRETS.items():
        for where in ("/etc/credstore/edge-agent", "/run/credentials/edge-agent.service"):
            path = root.file(f"{where}/{name}")
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(value)
    root.sh("chown -R edge-agent /run/credentials/edge-agent.service")


def simulators(root: Root) -> None:
    """The store's devices, from the edge-agent-sim package: a box reader with 4 items in it,
    ATOL's Web-server with a register, the Chestny Znak services."""
    root.spawn("edge-agent sim llrp --port 5084 --tags 4 --seed 11", "/var/log/sim-llrp.log")
    root.spawn("edge-agent sim kkt --port 16732 --print-ms 50 --check-ms 10", "/var/log/sim-kkt.log")
    root.spawn("edge-agent sim crpt --base-port 18080", "/var/log/sim-crpt.log")


def start(root: Root) -> subprocess.Popen[bytes]:
    """As systemd would: ExecStart, then ExecStartPost (the start check) must pass."""
    daemon = root.spawn(root.unit_command(key="ExecStart"), "/var/log/edge-agent.log")
    check = root.sh(root.unit_command(key="ExecStartPost"), check=False, timeout=150)
    log = root.file("/var/log/edge-agent.log").read_text()[-3000:]
    assert check.returncode == 0, f"start check failed: {check.stdout} {check.stderr}\n{log}"
    return daemon


def stop(root: Root, daemon: subprocess.Popen[bytes]) -> None:
    """As systemd would (KillSignal=SIGTERM to the daemon): it stops cleanly."""
    pids = root.running("bin/edge-agent run", program="/opt/edge-agent/bin/python")
    for pid in pids:
        os.kill(pid, 15)
    code = daemon.wait(30)
    assert code == 0, f"{pids}: {code}\n" + root.file("/var/log/edge-agent.log").read_text()[-3000:]


def probe(root: Root, *parts: str) -> dict[str, Any]:
    root.file("/root/probe.py").write_text((ROOT / "tests/package/probe.py").read_text())
    done = root.sh(f"/opt/edge-agent/bin/python3 /root/probe.py {' '.join(parts)}")
    result: dict[str, Any] = json.loads(done.stdout)
    return result


def test_installed_checked_started_selling_and_purged_without_a_trace(
    root: Root, debs: dict[str, dict[str, Path]]
) -> None:
    new = debs["new"]
    for deb in new.values():
        (root.file("/tmp") / deb.name).write_bytes(deb.read_bytes())
    began = time.monotonic()
    root.sh(f"apt-get install -y -q /tmp/{new['edge-agent'].name} /tmp/{new['edge-agent-sim'].name}")
    installed_s = time.monotonic() - began
    version = new["edge-agent"].name.split("_")[1]
    assert root.sh("edge-agent --version").stdout.strip() == f"edge-agent {version}"
    assert root.sh("stat -c '%U %a' /var/lib/edge-agent").stdout.split() == ["edge-agent", "750"]
    assert "edge-agent.toml" in root.sh("dpkg-query --showformat='${Conffiles}' -W edge-agent").stdout

    # the shipped example passes `config check` once the store's own secrets are in place: its
    # credentials, and a PIN of its own (a production daemon refuses the example's)
    for name, value in STORE_SECRETS.items():
        path = root.file(f"/etc/credstore/edge-agent/{name}")
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(value)
    refused = root.sh("CREDENTIALS_DIRECTORY=/etc/credstore/edge-agent edge-agent config check", check=False)
    assert refused.returncode == 2 and "the example PIN hash" in refused.stderr
    pin = root.sh("echo 7391 | edge-agent staff hash-pin --stdin").stdout.strip()
    example = root.file("/etc/edge-agent/edge-agent.toml")
    lines = [f'pin_hash = "{pin}"' if ln.startswith("pin_hash") else ln for ln in example.read_text().splitlines()]
    example.write_text("\n".join(lines) + "\n")
    checked = root.sh("CREDENTIALS_DIRECTORY=/etc/credstore/edge-agent edge-agent config check", check=False)
    assert checked.returncode == 0, checked.stderr
    assert json.loads(checked.stdout)["security"]["production"] is True

    # the store's configuration; the daemon as the unit starts it, its start check passing
    configure(root)
    simulators(root)
    daemon = start(root)
    seen = wait_for(lambda: probe(root, "store", "health"), "the store")
    assert seen["health"]["version"] == version and seen["health"]["start"]["ok"] is True
    wait_for(lambda: list(probe(root, "store")["store"]["open_baskets"].values()) == [4], "4 items in the box")
    status = wait_for(lambda: (s := probe(root, "status")["status"])["start"] and s, "the start check in the status")
    assert status == {"state": "online", "version": version, "start": {"ok": True, "version": version, "failing": {}}}

    # a sale against the simulators of the sim package, by the headless demo's shoppers
    sold = root.sh(
        "cd /tmp && edge-agent --config /usr/share/edge-agent-sim/demo.toml demo --headless --shoppers 3 --json",
        timeout=240,
    )
    summary = json.loads(sold.stdout.splitlines()[-1])
    assert summary["invariants_ok"] is True and summary["baskets_paid"] >= 1 and summary["fiscal"]["receipts"] >= 1

    # purge: the packages' prerm stop the daemon and the simulators (no systemd here: they find
    # them by their command lines)
    root.sh("apt-get purge -y -q edge-agent-sim edge-agent")
    assert daemon.wait(30) == 0
    assert root.running("/opt/edge-agent") == []
    for gone in ("/opt/edge-agent", "/etc/edge-agent", "/var/lib/edge-agent", "/usr/bin/edge-agent"):
        assert not root.file(gone).exists() and not root.file(gone).is_symlink(), gone
    assert root.sh("getent passwd edge-agent", check=False).returncode == 2
    assert root.sh("dpkg-query -W edge-agent", check=False).returncode != 0
    print(json.dumps({"figure": "package_install_s", "value": round(installed_s, 1)}))


def test_a_phased_upgrade_over_a_live_store_keeps_it_and_a_downgrade_is_refused(
    root: Root, debs: dict[str, dict[str, Path]], gnupg: dict[str, str], tmp_path: Path
) -> None:
    old, new = debs["previous"], debs["new"]
    old_version, new_version = (d["edge-agent"].name.split("_")[1] for d in (old, new))
    assert old_version == PREVIOUS["version"] and old_version != new_version

    # the previous release from the chain's signed repository
    publish(root, gnupg, list(old.values()), 100, tmp_path)
    root.sh("apt-get install -y -q edge-agent edge-agent-sim")
    assert root.sh("edge-agent --version").stdout.strip() == f"edge-agent {old_version}"
    configure(root)
    simulators(root)
    daemon = start(root)
    # a live store: a basket open with 4 items, events central has not confirmed (no central
    # here), the register's shift open
    before = wait_for(
        lambda: (
            (p := probe(root, "store", "health"))["store"]["unconfirmed"]
            and list(p["store"]["open_baskets"].values()) == [4]
            and p["health"]["shift"][0] == "opened"
            and p
        ),
        "an open basket, unconfirmed events and an open shift",
    )
    assert before["store"]["written_by"] is None or before["store"]["written_by"] == old_version

    # the new version at 0 %: this store is not in the phase, apt keeps it back
    publish(root, gnupg, [*old.values(), *new.values()], 0, tmp_path)
    held = root.sh(f"apt-get -o APT::Machine-ID={MACHINE} upgrade -y -q")
    assert "kept back" in held.stdout and "edge-agent" in held.stdout
    assert root.sh("edge-agent --version").stdout.strip() == f"edge-agent {old_version}"

    # at 100 %: upgraded over the running store, then restarted as the unit's try-restart would
    publish(root, gnupg, [*old.values(), *new.values()], 100, tmp_path)
    root.sh(f"apt-get -o APT::Machine-ID={MACHINE} upgrade -y -q")
    assert root.sh("edge-agent --version").stdout.strip() == f"edge-agent {new_version}"
    stop(root, daemon)
    daemon = start(root)
    after = wait_for(lambda: probe(root, "store", "health"), "the upgraded store")
    assert after["health"]["version"] == new_version and after["health"]["start"]["ok"] is True
    assert after["store"]["schema"] > before["store"]["schema"]  # migrated
    assert after["store"]["written_by"] == new_version
    assert after["store"]["open_baskets"] == before["store"]["open_baskets"]  # the same basket, 4 items
    assert set(before["store"]["unconfirmed"]) <= set(after["store"]["unconfirmed"])  # none lost
    assert after["health"]["shift"] == before["health"]["shift"]  # the same shift, still open
    status = wait_for(
        lambda: (s := probe(root, "status")["status"])["version"] == new_version and s["start"] and s,
        "the new version's start check in the retained status",
    )
    assert status["start"]["ok"] is True

    # a downgrade onto the migrated database: the old daemon refuses, says why, exit 65
    stop(root, daemon)
    root.sh(f"apt-get install -y -q --allow-downgrades edge-agent={old_version} edge-agent-sim={old_version}")
    refused = root.sh(root.unit_command(key="ExecStart"), check=False, timeout=60)
    assert refused.returncode == 65, refused.stderr
    assert f"written by edge-agent {new_version}" in refused.stderr and "will not start" in refused.stderr
    assert probe(root, "store")["store"]["schema"] == after["store"]["schema"]  # left as it was
    print(
        json.dumps(
            {
                "figure": "upgrade_kept",
                "open_baskets": len(after["store"]["open_baskets"]),
                "items": sum(after["store"]["open_baskets"].values()),
                "unconfirmed_events": len(before["store"]["unconfirmed"]),
                "shift": after["health"]["shift"],
            }
        )
    )
