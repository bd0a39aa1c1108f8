#!/usr/bin/env bash
# Installs the real helm CLI from the Go module proxy (no prebuilt downloads).
# Prints the path of the helm binary on stdout; progress goes to stderr.
# Usage: scripts/install-helm.sh            (HELM_VERSION overrides the pinned version)
set -euo pipefail

HELM_VERSION="${HELM_VERSION:-v3.21.4}"
BIN_DIR="${MOUNTGATE_BIN_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/mountgate/bin}"
HELM_BIN="$BIN_DIR/helm"

want="${HELM_VERSION#v}"
if [[ -x "$HELM_BIN" ]]; then
  have="$("$HELM_BIN" version --template '{{.Version}}' 2>/dev/null || true)"
  if [[ "${have#v}" == "$want" ]]; then
    echo "helm $have already installed at $HELM_BIN" >&2
    echo "$HELM_BIN"
    exit 0
  fi
  echo "helm at $HELM_BIN is '${have:-unknown}', want v$want: reinstalling" >&2
fi

if ! command -v go >/dev/null 2>&1; then
  if [[ -x /usr/local/go/bin/go ]]; then
    PATH="/usr/local/go/bin:$PATH"
  else
    echo "install-helm: the go toolchain is required (go install helm.sh/helm/v3/cmd/helm@$HELM_VERSION)" >&2
    exit 1
  fi
fi

mkdir -p "$BIN_DIR"
echo "building helm $HELM_VERSION with $(go version) into $BIN_DIR (takes a few minutes)..." >&2
# -ldflags stamps the version so `helm version` reports it (as the release build does).
GOBIN="$BIN_DIR" go install \
  -ldflags "-X helm.sh/helm/v3/internal/version.version=$HELM_VERSION" \
  "helm.sh/helm/v3/cmd/helm@$HELM_VERSION" >&2
"$HELM_BIN" version >&2
echo "$HELM_BIN"
