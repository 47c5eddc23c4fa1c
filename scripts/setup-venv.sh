#!/usr/bin/env bash
# Creates (or refreshes) the harness's virtualenv and installs the pinned requirements.
#   scripts/setup-venv.sh VENV REQUIREMENTS
# On a fresh Debian machine python3 may lack ensurepip (package python3-venv): as root,
# install it and try again.
set -euo pipefail
VENV="${1:-.venv}"
REQ="${2:-python_interop/requirements.txt}"
PY="${PYTHON:-python3}"

make_venv() { "$PY" -m venv --clear "$VENV"; }

if ! [ -x "$VENV/bin/python" ] || ! "$VENV/bin/python" -c 'import sys' 2>/dev/null; then
  if ! make_venv; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
      ver="$("$PY" -c 'import sys; print("%d.%d" % sys.version_info[:2])')"
      echo "venv: installing python3-venv (python$ver-venv)" >&2
      apt-get update -qq
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "python$ver-venv" >/dev/null \
        || DEBIAN_FRONTEND=noninteractive apt-get install -y -qq python3-venv >/dev/null
      make_venv
    else
      echo "venv: '$PY -m venv' failed; install python3-venv (apt-get install python3-venv)" >&2
      exit 1
    fi
  fi
fi
"$VENV/bin/python" -m pip install --quiet --disable-pip-version-check -r "$REQ"
# Pure-Python libraries the CPython peers import (cloudpickle, dill): one folder that every
# interpreter of the matrix gets on its PYTHONPATH (the provisioned 3.13-3.15 have no pip).
peer_reqs="$(sed -n 's/^\([^#[:space:]][^[:space:]]*\).*#[[:space:]]*peer[[:space:]]*$/\1/p' "$REQ")"
if [ -n "$peer_reqs" ]; then
  rm -rf "$VENV/peer-site"
  # shellcheck disable=SC2086
  "$VENV/bin/python" -m pip install --quiet --disable-pip-version-check --no-deps \
    --target "$VENV/peer-site" $peer_reqs
fi
"$VENV/bin/python" -m pytest --version
