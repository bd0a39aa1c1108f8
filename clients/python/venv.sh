#!/usr/bin/env bash
# Makes clients/python/.venv (Python 3.11 or newer; $PYTHON, else python3.11, else python3) and
# installs requirements.lock into it, every package pinned by hash. Does nothing more when the
# lockfile has not changed since the last install.
set -euo pipefail
cd "$(dirname "$0")"

PYTHON="${PYTHON:-$(command -v python3.11 || command -v python3)}"
"$PYTHON" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "clients/python needs Python 3.11 or newer, not " + sys.version.split()[0])'

STAMP=.venv/requirements.lock.installed
if [ -x .venv/bin/python ] && cmp -s requirements.lock "$STAMP"; then exit 0; fi
"$PYTHON" -m venv .venv
.venv/bin/python -m pip install --quiet --disable-pip-version-check --require-hashes -r requirements.lock
cp requirements.lock "$STAMP"
