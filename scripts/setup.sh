#!/usr/bin/env bash
# One-time (idempotent) set-up for `make demo`, `make test` and `make bench`:
#   1. the Debian packages the project needs (skipped when present),
#   2. a virtual environment in .venv with the project and its [dev] extra.
# Safe to run again; fast when everything is already there.
set -euo pipefail
cd "$(dirname "$0")/.."

VENV=${VENV:-.venv}
PYTHON=${PYTHON:-python3}
# the one tool that reads the lock; pinned like everything in it
UV_VERSION=0.13.10
# mosquitto: MQTT broker for tests; pcscd + vsmartcard-vpcd: PC/SC with a virtual reader
# (pcsc-tools: its scriptor, a third-party client of the virtual tag);
# libpcsclite-dev + swig: to build pyscard; python3-venv: the virtual environment;
# openssl: the test CA; chromium: the page tests (Playwright drives Debian's browser);
# rabbitmq-server (with rabbitmq_mqtt): central's three-node cluster in the delivery tests;
# debootstrap, apt-utils (apt-ftparchive), gpg: the package, its signed repository and the fresh
# Debian root it is tried on (make package, make repo, make package-test; iproute2 brings up its
# loopback).
DEBIAN_PACKAGES=(mosquitto pcscd pcsc-tools libpcsclite-dev swig vsmartcard-vpcd python3-venv openssl chromium
    rabbitmq-server prometheus nodejs debootstrap apt-utils gpg iproute2)

say() { printf 'setup: %s\n' "$*"; }

missing=()
if command -v dpkg-query >/dev/null 2>&1; then
    for pkg in "${DEBIAN_PACKAGES[@]}"; do
        status=$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)
        [[ $status == "install ok installed" ]] || missing+=("$pkg")
    done
else
    say "not a Debian-like system (no dpkg-query): make sure these are installed: ${DEBIAN_PACKAGES[*]}"
fi

if ((${#missing[@]})); then
    if [[ $(id -u) -eq 0 ]]; then
        sudo=()
    elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
        sudo=(sudo -n)
    else
        say "these Debian packages are missing: ${missing[*]}"
        say "installing them needs root. Run:  sudo apt-get install ${missing[*]}"
        exit 1
    fi
    say "installing Debian packages: ${missing[*]}"
    export DEBIAN_FRONTEND=noninteractive
    "${sudo[@]}" apt-get update -qq
    # policy-rc.d 101: packages must not start their services here; tests start their own.
    policy=/usr/sbin/policy-rc.d
    if [[ ! -e $policy ]]; then
        printf '#!/bin/sh\nexit 101\n' | "${sudo[@]}" tee "$policy" >/dev/null
        "${sudo[@]}" chmod +x "$policy"
        trap '"${sudo[@]}" rm -f "$policy"' EXIT
    fi
    "${sudo[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
    say "Debian packages installed"
else
    say "Debian packages present"
fi

if ! "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))'; then
    say "Python 3.11 or newer is needed; $PYTHON is $("$PYTHON" --version 2>&1)"
    exit 1
fi
if [[ ! -x $VENV/bin/python ]]; then
    say "creating $VENV"
    "$PYTHON" -m venv "$VENV"
fi
say "installing edge-agent and its [dev] extra into $VENV, from uv.lock"
# uv (MIT/Apache-2.0) reads the lock; pip installs what it exports, every file checked against
# the lock's hashes, nothing resolved here: this venv, CI's and the package's hold the same
# releases (tests/unit/test_lock.py checks it). `make lock` refreshes uv.lock.
"$VENV/bin/python" -m pip install -q --disable-pip-version-check "uv==$UV_VERSION"
locked=$VENV/locked-requirements.txt
"$VENV/bin/uv" export --quiet --frozen --extra dev --no-emit-project --no-header --format requirements-txt -o "$locked"
"$VENV/bin/python" -m pip install -q --disable-pip-version-check --require-hashes --no-deps -r "$locked"
"$VENV/bin/python" -m pip install -q --disable-pip-version-check --no-deps -e .
# and nothing else: what an older set-up or a hand left behind goes (the venv's own setuptools too)
"$VENV/bin/python" - "$locked" <<'PY'
import importlib.metadata as md, re, subprocess, sys
def normal(name): return re.sub(r"[-_.]+", "-", name).lower()
locked = {normal(re.split(r"[=;\s]", line)[0]) for line in open(sys.argv[1]) if "==" in line}
extra = sorted({d.metadata["Name"] for d in md.distributions()
                if normal(d.metadata["Name"]) not in locked | {"edge-agent", "uv"}})
if extra:
    print("setup: removing what uv.lock does not name:", " ".join(extra))
    subprocess.run([sys.executable, "-m", "pip", "uninstall", "-y", "-q", *extra], check=True)
PY
# axe-core (Deque, MPL-2.0): the pages' accessibility audit in the browser tests; a test tool
# from the npm registry, kept in the venv, never served by the product
# ESLint (MIT) and Prettier (MIT): the pages' linter and formatter in `make lint`; test tools
# like axe-core, kept in the venv and never served. Versions pinned: the rules do not move.
NODE_TOOLS=("axe-core@4" "eslint@9.39.5" "@eslint/js@9.39.5" "globals@15.15.0" "prettier@3.10.2")
if [[ ! -f $VENV/node/node_modules/axe-core/axe.min.js || ! -x $VENV/node/node_modules/.bin/eslint ||
      ! -x $VENV/node/node_modules/.bin/prettier ]]; then
    say "installing ${NODE_TOOLS[*]} (npm) into $VENV/node"
    npm install --no-save --no-audit --no-fund --loglevel=error --prefix "$VENV/node" "${NODE_TOOLS[@]}" >/dev/null
fi
say "ready"
