#!/usr/bin/env bash
# Makes test/e2e/tools/deer-flow/.venv for deer-flow's provisioner (Python 3.11 or newer: the lockfile
# was made on 3.11, and several of its pins need it; $PYTHON, else python3.12 as deer-flow's provisioner image has, when it
# runs, else python3) and installs requirements.lock into it, every package pinned by hash. Does nothing more
# when neither the lockfile nor the Python has changed since the last install. Prints the venv's python.
set -euo pipefail
cd "$(dirname "$0")"

if [ -z "${PYTHON:-}" ]; then
  # A version manager's shim may exist and still refuse to run, so ask the interpreter itself.
  if python3.12 -c '' 2>/dev/null; then PYTHON=python3.12; else PYTHON=python3; fi
fi
"$PYTHON" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 11) else "the lockfile of deer-flow'"'"'s provisioner needs Python 3.11 or newer, not " + sys.version.split()[0])'

STAMP=.venv/requirements.lock.installed
WANTED="$("$PYTHON" -c 'import sys; print(sys.version)')
$(cat requirements.lock)"
if [ -x .venv/bin/python ] && [ -f "$STAMP" ] && [ "$(cat "$STAMP")" = "$WANTED" ]; then
  echo "$PWD/.venv/bin/python"
  exit 0
fi
rm -rf .venv
"$PYTHON" -m venv .venv
.venv/bin/python -m pip install --quiet --disable-pip-version-check --require-hashes --only-binary=:all: -r requirements.lock >&2
printf '%s\n' "$WANTED" > "$STAMP"
echo "$PWD/.venv/bin/python"
