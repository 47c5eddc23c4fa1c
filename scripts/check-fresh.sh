#!/usr/bin/env bash
# `make check-fresh`: runs CI's own command, `.ci/run` (`CI=true make test`), the way a fresh
# machine would see it.
#
# 1. Clones HEAD (what is committed, nothing else) into a temporary folder.
# 2. Inside a private mount namespace (so nothing changes for the rest of the machine):
#    - an empty tmpfs over the default interpreter folder (/var/cache/mpconn), and an
#      empty MPCONN_PYTHONS_DIR: no interpreter provisioned earlier can be found;
#    - an overlay over rustup's home (toolchains and its tmp, one filesystem so rustup can
#      move files) with the x86_64-pc-windows-gnu target removed: rustup must add it
#      again, as on a fresh machine;
#    - no CARGO_TARGET_DIR, no .venv: the clone builds and installs everything itself.
# 3. Runs `bash .ci/run` there and reports the wall time.
#
# Debian packages installed earlier (wine64, mingw-w64, debootstrap) stay visible: a fresh
# machine gets them from apt-get in the same set-up steps, which this does not re-run.
# Needs root (mount namespaces). KEEP=1 keeps the temporary folder for a look afterwards.
set -euo pipefail
if [ "$(id -u)" != 0 ]; then
  echo "check-fresh: needs root (unshare -m, mount)" >&2
  exit 1
fi
repo="$(git -C "$(dirname "$0")/.." rev-parse --show-toplevel)"
work="$(mktemp -d /tmp/mpconn-fresh.XXXXXX)"
[ "${KEEP:-}" = 1 ] || trap 'rm -rf "$work"' EXIT
git clone -q "$repo" "$work/mpconn"
echo "check-fresh: testing $(git -C "$work/mpconn" log -1 --format='%h %s') in $work"
mkdir -p "$work/pythons" "$work/tc-upper" "$work/tc-work" /var/cache/mpconn
toolchain="$(rustc --print sysroot)"
rustup_home="${RUSTUP_HOME:-$HOME/.rustup}"
case "$toolchain" in "$rustup_home"/*) ;; *) echo "check-fresh: the toolchain is not under $rustup_home" >&2; exit 1;; esac

start=$(date +%s)
status=0
env -u CARGO_TARGET_DIR -u VIRTUAL_ENV CI=true MPCONN_PYTHONS_DIR="$work/pythons" \
  unshare --mount --propagation private bash -euo pipefail -c '
    work=$1 toolchain=$2 rustup_home=$3
    mount -t tmpfs tmpfs /var/cache/mpconn
    mount -t overlay overlay \
      -o "lowerdir=$rustup_home,upperdir=$work/tc-upper,workdir=$work/tc-work" "$rustup_home"
    rm -rf "$toolchain/lib/rustlib/x86_64-pc-windows-gnu" \
           "$toolchain"/lib/rustlib/manifest-*x86_64-pc-windows-gnu*
    sed -i "/x86_64-pc-windows-gnu/d" "$toolchain/lib/rustlib/components"
    python3 - "$toolchain/lib/rustlib/multirust-config.toml" <<"PY"
import re, sys
path = sys.argv[1]
text = open(path).read()
blocks = re.split(r"(?=\n\[\[components\]\])", text)
open(path, "w").write("".join(b for b in blocks if "x86_64-pc-windows-gnu" not in b))
PY
    echo "check-fresh: hidden: /var/cache/mpconn, the Windows Rust target; MPCONN_PYTHONS_DIR=$MPCONN_PYTHONS_DIR (empty)"
    python3 "$work/mpconn/python_interop/pythons.py" list
    cd "$work/mpconn"
    bash .ci/run
  ' check-fresh "$work" "$toolchain" "$rustup_home" || status=$?
elapsed=$(( $(date +%s) - start ))
echo "check-fresh: .ci/run exited $status after ${elapsed}s ($(nproc) cores)"
exit $status
