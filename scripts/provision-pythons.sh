#!/usr/bin/env bash
# Provision CPython 3.13, 3.14 and 3.15 from Debian's testing suite into a folder
# (default /var/cache/mpconn/pythons/rootfs) and write one launcher per interpreter
# into .../bin.  Idempotent: a completed folder is reused.
set -euo pipefail
DIR="$(python3 "$(dirname "$0")/../python_interop/pythons.py" dir)"  # the one rule: MPCONN_PYTHONS_DIR or the default
ROOT="$DIR/rootfs"
STAMP="$DIR/.complete"
VERSIONS="3.13 3.14 3.15"

if [ -f "$STAMP" ]; then
  echo "pythons: already provisioned in $DIR"
  exit 0
fi
if [ "$(id -u)" != 0 ]; then
  echo "pythons: provisioning needs root (debootstrap); run 'sudo make pythons'" >&2
  exit 1
fi
if ! command -v debootstrap >/dev/null; then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null
fi
MIRROR="$(awk '/^URIs:/ {print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)"
MIRROR="${MIRROR:-http://deb.debian.org/debian}"
PKGS="$(for v in $VERSIONS; do printf 'python%s,' "$v"; done)"
PKGS="${PKGS%,}"
rm -rf "$ROOT"
mkdir -p "$DIR"
ok=0
for suite in forky sid; do
  echo "pythons: debootstrap $suite from $MIRROR ($PKGS)"
  if debootstrap --variant=minbase --include="$PKGS" "$suite" "$ROOT" "$MIRROR" \
       /usr/share/debootstrap/scripts/sid >"$DIR/debootstrap-$suite.log" 2>&1; then
    ok=1; break
  fi
  echo "pythons: $suite failed (see $DIR/debootstrap-$suite.log)" >&2
  rm -rf "$ROOT"
done
[ "$ok" = 1 ] || { echo "pythons: debootstrap failed" >&2; exit 1; }
mkdir -p "$DIR/bin"
for v in $VERSIONS; do
  cat >"$DIR/bin/python$v" <<LAUNCH
#!/bin/sh
# Runs Debian's python$v from $ROOT without chroot (shares /tmp and the network namespace).
exec "$ROOT/lib64/ld-linux-x86-64.so.2" --library-path "$ROOT/lib/x86_64-linux-gnu:$ROOT/usr/lib/x86_64-linux-gnu" "$ROOT/usr/bin/python$v" "\$@"
LAUNCH
  chmod +x "$DIR/bin/python$v"
  "$DIR/bin/python$v" -c 'import sys, multiprocessing.connection; print("pythons:", sys.version.split()[0])'
done
touch "$STAMP"
