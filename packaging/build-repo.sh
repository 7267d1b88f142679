#!/usr/bin/env bash
# `make repo`: a signed apt repository ($REPO, default dist/repo) of the .deb files in $DEBS
# (default dist/*.deb), suite "stable", component "main", with the signing key's public half
# beside it as edge-agent-archive-keyring.gpg.
#
#   PHASE=10 make repo      publish with Phased-Update-Percentage: 10 on the newest edge-agent
#                           (apt on 10 % of the stores, chosen by /etc/machine-id, takes it)
#   REPO_KEY=<key id>       the key to sign with (the chain's; tests make a throw-away one)
#   GNUPGHOME=<dir>         where that key is
# Uses apt-ftparchive (apt-utils) and gpg, both in Debian. docs/operations.md says how to roll out.
set -euo pipefail
cd "$(dirname "$0")/.."
REPO=${REPO:-dist/repo}
PHASE=${PHASE:-100}
REPO_KEY=${REPO_KEY:?the signing key: REPO_KEY=<key id or e-mail> (and GNUPGHOME where it is)}
shopt -s nullglob
debs=(${DEBS:-dist/*.deb})
((${#debs[@]})) || { echo "repo: no .deb in ${DEBS:-dist/}: make package first" >&2; exit 1; }
[[ $PHASE =~ ^[0-9]+$ && $PHASE -le 100 ]] || { echo "repo: PHASE is a percentage, 0-100" >&2; exit 1; }

rm -rf "$REPO/dists"
mkdir -p "$REPO/pool/main" "$REPO/dists/stable/main/binary-amd64"
cp -f "${debs[@]}" "$REPO/pool/main/"
cd "$REPO"
apt-ftparchive packages pool >dists/stable/main/binary-amd64/Packages.all
# the newest edge-agent's stanza gets the phase (apt holds it back where it is not yet due)
python3 - "$PHASE" <<'PY'
import sys
from functools import cmp_to_key
import subprocess
phase = int(sys.argv[1])
stanzas = open("dists/stable/main/binary-amd64/Packages.all").read().strip().split("\n\n")
def field(s, name):
    return next(l.split(": ", 1)[1] for l in s.splitlines() if l.startswith(name + ": "))
def newer(a, b):
    return -1 if subprocess.run(["dpkg", "--compare-versions", a, "lt", b]).returncode == 0 else 1
agents = [s for s in stanzas if field(s, "Package") == "edge-agent"]
newest = max((field(s, "Version") for s in agents), key=cmp_to_key(newer)) if agents else None
out = []
for s in stanzas:
    if phase < 100 and field(s, "Package") in ("edge-agent", "edge-agent-sim") and field(s, "Version") == newest:
        s += f"\nPhased-Update-Percentage: {phase}"
    out.append(s)
open("dists/stable/main/binary-amd64/Packages", "w").write("\n\n".join(out) + "\n")
PY
rm dists/stable/main/binary-amd64/Packages.all
gzip -9kf dists/stable/main/binary-amd64/Packages
apt-ftparchive \
    -o APT::FTPArchive::Release::Origin=edge-agent -o APT::FTPArchive::Release::Label=edge-agent \
    -o APT::FTPArchive::Release::Suite=stable -o APT::FTPArchive::Release::Codename=stable \
    -o APT::FTPArchive::Release::Architectures=amd64 -o APT::FTPArchive::Release::Components=main \
    release dists/stable >Release.new
mv Release.new dists/stable/Release
gpg --batch --yes --local-user "$REPO_KEY" --clearsign -o dists/stable/InRelease dists/stable/Release
gpg --batch --yes --local-user "$REPO_KEY" --detach-sign --armor -o dists/stable/Release.gpg dists/stable/Release
gpg --batch --yes --export "$REPO_KEY" >edge-agent-archive-keyring.gpg
echo "repo: $PWD (phase $PHASE %): $(grep -c '^Package:' dists/stable/main/binary-amd64/Packages) packages"
