#!/usr/bin/env bash
# Installs vegeta, the fixed-rate and reconnect load generator of `npm run bench`, from the Go module
# proxy (no prebuilt downloads), into the same cache as helm. A binary already there is reused when it reports
# the pinned version. Prints the path of the binary on stdout; progress goes to stderr.
# Usage: bench/tools/install-vegeta.sh      (VEGETA_VERSION overrides the pinned version)
set -euo pipefail

VEGETA_VERSION="${VEGETA_VERSION:-v12.13.0}"
BIN_DIR="${MOUNTGATE_BIN_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/mountgate/bin}"
VEGETA_BIN="$BIN_DIR/vegeta"

# `vegeta -version` prints "Version: <main.Version>" first; `go install` leaves that empty unless -ldflags sets it.
installed_version() {
  "$VEGETA_BIN" -version 2>/dev/null | sed -n 's/^Version: *//p' | head -n 1
}

want="${VEGETA_VERSION#v}"
if [[ -x "$VEGETA_BIN" ]]; then
  have="$(installed_version || true)"
  if [[ "${have#v}" == "$want" ]]; then
    echo "vegeta $have already installed at $VEGETA_BIN" >&2
    echo "$VEGETA_BIN"
    exit 0
  fi
  echo "vegeta at $VEGETA_BIN is '${have:-unknown}', want v$want: reinstalling" >&2
  # go install will not overwrite a file it did not build.
  rm -f "$VEGETA_BIN"
fi

if ! command -v go >/dev/null 2>&1; then
  if [[ -x /usr/local/go/bin/go ]]; then
    PATH="/usr/local/go/bin:$PATH"
  else
    echo "install-vegeta: the go toolchain is required (go install github.com/tsenart/vegeta/v12@$VEGETA_VERSION)" >&2
    exit 1
  fi
fi

mkdir -p "$BIN_DIR"
echo "building vegeta $VEGETA_VERSION with $(go version) into $BIN_DIR..." >&2
# -ldflags stamps the version as the release Makefile does, so the check above can recognise the binary.
GOBIN="$BIN_DIR" go install \
  -ldflags "-X main.Version=$VEGETA_VERSION" \
  "github.com/tsenart/vegeta/v12@$VEGETA_VERSION" >&2
have="$(installed_version || true)"
if [[ "${have#v}" != "$want" ]]; then
  echo "install-vegeta: the built $VEGETA_BIN reports version '${have:-unknown}', not v$want" >&2
  exit 1
fi
echo "$VEGETA_BIN"
