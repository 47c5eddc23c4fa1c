#!/usr/bin/env bash
# Sets up what `make test-windows` needs, idempotently:
#   - Rust's x86_64-pc-windows-gnu target (rustup),
#   - Debian's mingw-w64 cross compiler (the linker) and wine64 (apt, needs root),
#   - our ProcessPrng shim, target/windows-shim/bcryptprimitives.dll (see windows/).
# Prints the wine launcher to use on its last line ("WINE=/path").
# Exit status: 0 ready; 77 not available and cannot be installed here (not root, or no
# apt-get): callers may skip with the message printed; anything else: a real failure.
set -euo pipefail
cd "$(dirname "$0")/.."
TARGET=x86_64-pc-windows-gnu
CC=x86_64-w64-mingw32-gcc
SHIM_DIR=target/windows-shim

find_wine() {
  for w in wine64 /usr/lib/wine/wine64 wine; do
    if command -v "$w" >/dev/null 2>&1; then command -v "$w"; return 0; fi
  done
  return 1
}

missing=()
command -v "$CC" >/dev/null 2>&1 || missing+=(gcc-mingw-w64-x86-64)
find_wine >/dev/null || missing+=(wine64)
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
    echo "windows-setup: missing ${missing[*]}; installing needs root and apt-get" >&2
    echo "windows-setup: run 'sudo bash scripts/windows-setup.sh' (Debian: apt-get install gcc-mingw-w64-x86-64 wine64)" >&2
    exit 77
  fi
  echo "windows-setup: installing ${missing[*]}"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "${missing[@]}" >/dev/null
fi

if ! rustup target list --installed 2>/dev/null | grep -qx "$TARGET"; then
  if ! command -v rustup >/dev/null; then
    echo "windows-setup: no rustup to add the $TARGET target" >&2
    exit 77
  fi
  # The target's standard library comes from rustup's own servers, which some machines
  # cannot reach (only package registries): then the Windows tests are skipped, loudly.
  if ! rustup target add "$TARGET"; then
    echo "windows-setup: 'rustup target add $TARGET' failed (no access to rustup's servers?)" >&2
    exit 77
  fi
fi

# The shim: Rust's std imports ProcessPrng from bcryptprimitives.dll, which wine 8 lacks.
mkdir -p "$SHIM_DIR"
dll="$SHIM_DIR/bcryptprimitives.dll"
if [ ! -f "$dll" ] || [ windows/bcryptprimitives.c -nt "$dll" ] || [ windows/bcryptprimitives.def -nt "$dll" ]; then
  "$CC" -O2 -shared -o "$dll" windows/bcryptprimitives.c windows/bcryptprimitives.def -ladvapi32
  echo "windows-setup: built $dll"
fi
echo "WINE=$(find_wine)"
