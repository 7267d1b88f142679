#!/usr/bin/env bash
# `make package`: edge-agent_<version>_<arch>.deb (the store's daemon) and
# edge-agent-sim_<version>_<arch>.deb (the simulators and the demo) into $OUT (dist/).
#
# The daemon is a self-contained virtual environment at /opt/edge-agent made with Debian's own
# python3 from uv.lock, every file checked against the lock's hashes (docs/adr/0022-a-debian-package-with-its-own-venv.md).
# It is built in a staging directory and its paths rewritten to /opt/edge-agent, as dh-virtualenv
# does; no .pyc is shipped (postinst compiles them, prerm removes them).
#
# SOURCE=<tree> packages another checkout (the upgrade test builds the previous release so).
set -euo pipefail
cd "${SOURCE:-$(dirname "$0")/..}"
ROOT=$PWD
OUT=${OUT:-$ROOT/dist}
UV=${UV:-$ROOT/.venv/bin/uv}
PYTHON=/usr/bin/python3  # Debian's: the venv links to it, so the package Depends on it
PREFIX=/opt/edge-agent

say() { printf 'package: %s\n' "$*"; }
for tool in dpkg-deb "$PYTHON" "$UV"; do
    command -v "$tool" >/dev/null || { say "needs $tool (make setup; apt-get install dpkg-dev python3-venv)"; exit 1; }
done

VERSION=$("$PYTHON" -c 'import tomllib; print(tomllib.load(open("pyproject.toml", "rb"))["project"]["version"])')
ARCH=$(dpkg --print-architecture)
PYVER=$("$PYTHON" -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1]}")')
NEXT_PY=$("$PYTHON" -c 'import sys; print(f"{sys.version_info[0]}.{sys.version_info[1] + 1}")')
STAGE=$(mktemp -d "${TMPDIR:-/tmp}/edge-agent-deb.XXXXXX")
trap 'rm -rf "$STAGE"' EXIT
MAIN=$STAGE/edge-agent SIM=$STAGE/edge-agent-sim
VENV=$MAIN$PREFIX SITE=lib/python$PYVER/site-packages

say "edge-agent $VERSION ($ARCH, python $PYVER) from uv.lock"
"$PYTHON" -m venv "$VENV"
"$UV" export --quiet --frozen --no-dev --no-emit-project --no-header --format requirements-txt -o "$STAGE/runtime.txt"
PIP=("$VENV/bin/python" -m pip install -q --disable-pip-version-check --no-compile --no-deps)
"${PIP[@]}" --require-hashes -r "$STAGE/runtime.txt"
"${PIP[@]}" "$ROOT"
"$VENV/bin/python" -m pip uninstall -q -y setuptools 2>/dev/null || true  # the venv's own: not in the lock

# the simulators and the demo: their own package, into the same environment (and pika, for
# central's simulated services on RabbitMQ); the store's package runs without them
mkdir -p "$SIM$PREFIX/$SITE"
mv "$VENV/$SITE/sim" "$SIM$PREFIX/$SITE/sim"
"$UV" export --quiet --frozen --extra dev --no-emit-project --no-header --format requirements-txt -o "$STAGE/dev.txt"
awk '/^pika==/{p=1} p{print} p && !/\\$/{exit}' "$STAGE/dev.txt" >"$STAGE/sim.txt"
"${PIP[@]}" --require-hashes --target "$SIM$PREFIX/$SITE" -r "$STAGE/sim.txt"
rm -rf "$SIM$PREFIX/$SITE/bin"

# the staging path out, /opt/edge-agent in; nothing compiled (postinst does it on the store)
for tree in "$MAIN" "$SIM"; do
    { grep -rlIF "$VENV" "$tree" || true; } | while read -r f; do sed -i "s#$VENV#$PREFIX#g" "$f"; done
    find "$tree" -name __pycache__ -prune -exec rm -rf {} +
done

# files around the environment
install -D -m 0644 config/edge-agent.service "$MAIN/lib/systemd/system/edge-agent.service"
install -D -m 0640 config/production.example.toml "$MAIN/etc/edge-agent/edge-agent.toml"
mkdir -p "$MAIN/usr/bin" && ln -s "$PREFIX/bin/edge-agent" "$MAIN/usr/bin/edge-agent"
install -D -m 0644 LICENSE "$MAIN/usr/share/doc/edge-agent/copyright"
install -m 0644 docs/licences.md "$MAIN/usr/share/doc/edge-agent/licences.md"
for f in config/prometheus/alerts.yml config/prometheus/store.yml config/grafana/edge-agent.json config/mosquitto/*.conf; do
    [[ -e $f ]] && install -D -m 0644 "$f" "$MAIN/usr/share/edge-agent/${f#config/}"
done
install -D -m 0644 LICENSE "$SIM/usr/share/doc/edge-agent-sim/copyright"
# the demo store: edge-agent --config /usr/share/edge-agent-sim/demo.toml demo [--headless]
install -D -m 0644 config/edge-agent.toml "$SIM/usr/share/edge-agent-sim/demo.toml"

control() {  # package dir, name, description, depends, recommends, suggests
    local dir=$1 size
    size=$(du -sk --exclude=DEBIAN "$dir" | cut -f1)
    mkdir -p "$dir/DEBIAN"
    {
        printf 'Package: %s\nVersion: %s\nArchitecture: %s\nMaintainer: edge-agent developers <edge-agent@localhost>\n' "$2" "$VERSION" "$ARCH"
        printf 'Installed-Size: %s\nSection: net\nPriority: optional\nDepends: %s\n' "$size" "$4"
        [[ -n $5 ]] && printf 'Recommends: %s\n' "$5"
        [[ -n ${6:-} ]] && printf 'Suggests: %s\n' "$6"
        printf 'Description: %s\n' "$3"
    } >"$dir/DEBIAN/control"
}
control "$MAIN" edge-agent "self-checkout edge daemon (RFID/NFC/DataMatrix, Chestny Znak checks, MQTT)
 Reads tags and mark codes through reader drivers, checks every marked item before sale,
 builds the customer's basket, prints fiscal receipts and syncs the store over MQTT." \
    "python3 (>= $PYVER), python3 (<< $NEXT_PY), libpcsclite1, passwd, init-system-helpers" "pcscd, libusb-1.0-0" \
    "mosquitto, prometheus"
control "$SIM" edge-agent-sim "simulators and demo store for edge-agent (not for a store)
 Simulated LLRP and NFC readers, scanners, the Chestny Znak services, ATOL's Web-server,
 payments and central: the whole store on one machine for tests and demos." \
    "edge-agent (= $VERSION)" ""
install -m 0755 packaging/debian/edge-agent/postinst packaging/debian/edge-agent/prerm \
    packaging/debian/edge-agent/postrm "$MAIN/DEBIAN/"
echo "/etc/edge-agent/edge-agent.toml" >"$MAIN/DEBIAN/conffiles"
install -m 0755 packaging/debian/edge-agent-sim/postinst packaging/debian/edge-agent-sim/prerm "$SIM/DEBIAN/"

mkdir -p "$OUT"
for pkg in edge-agent edge-agent-sim; do
    deb=$OUT/${pkg}_${VERSION}_${ARCH}.deb
    dpkg-deb --root-owner-group -Zxz --build "$STAGE/$pkg" "$deb" >/dev/null
    say "$deb ($(du -h "$deb" | cut -f1))"
done
