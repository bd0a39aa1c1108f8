#!/usr/bin/env bash
# Builds Kyverno's admission controller from the Go module proxy (no prebuilt downloads), for the benchmark's
# Kyverno section only (nothing in the product or CI uses it). Also keeps a copy of the module's CRDs next to it.
# Prints the path of the kyverno binary on stdout; progress goes to stderr.
# Usage: bench/tools/install-kyverno.sh      (KYVERNO_VERSION overrides the pinned version)
#
# `go install github.com/kyverno/kyverno/cmd/kyverno@VERSION` refuses the module (its go.mod has replace
# directives), so it is built as the main module in a writable copy of the downloaded module.
set -euo pipefail

KYVERNO_VERSION="${KYVERNO_VERSION:-v1.19.1}"
CACHE_DIR="${MOUNTGATE_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/mountgate}"
BIN_DIR="${MOUNTGATE_BIN_DIR:-$CACHE_DIR/bin}"
KYVERNO_BIN="$BIN_DIR/kyverno"
CRD_DIR="$CACHE_DIR/kyverno-crds/$KYVERNO_VERSION"
VERSION_VAR="github.com/kyverno/kyverno/pkg/version.BuildVersion"
CRD_GROUPS=(kyverno policies.kyverno.io policyreport reports)

if ! command -v go >/dev/null 2>&1; then
  if [[ -x /usr/local/go/bin/go ]]; then
    PATH="/usr/local/go/bin:$PATH"
  else
    echo "install-kyverno: the go toolchain is required" >&2
    exit 1
  fi
fi

# The version stamped at link time, read back from the binary's build information (`go version -m`).
stamped_version() {
  go version -m "$1" 2>/dev/null | sed -n "s|.*-X $VERSION_VAR=\(v[0-9A-Za-z.+-]*\).*|\1|p" | head -n 1
}

crds_present() {
  local group
  for group in "${CRD_GROUPS[@]}"; do
    compgen -G "$CRD_DIR/$group/*.yaml" >/dev/null || return 1
  done
}

if [[ -x "$KYVERNO_BIN" ]] && crds_present; then
  have="$(stamped_version "$KYVERNO_BIN")"
  if [[ "$have" == "$KYVERNO_VERSION" ]]; then
    echo "kyverno $have already installed at $KYVERNO_BIN (CRDs in $CRD_DIR)" >&2
    echo "$KYVERNO_BIN"
    exit 0
  fi
  echo "kyverno at $KYVERNO_BIN is '${have:-unknown}', want $KYVERNO_VERSION: rebuilding" >&2
fi

echo "downloading github.com/kyverno/kyverno@$KYVERNO_VERSION from the Go module proxy..." >&2
module_dir="$(go mod download -json "github.com/kyverno/kyverno@$KYVERNO_VERSION" |
  sed -n 's/^[[:space:]]*"Dir": "\(.*\)",\{0,1\}$/\1/p')"
if [[ -z "$module_dir" || ! -f "$module_dir/go.mod" ]]; then
  echo "install-kyverno: go mod download gave no module folder" >&2
  exit 1
fi

# A fixed folder rather than a random one: the Go build cache keys the main module's packages by their path, so a
# rebuild (another version of Go, a lost binary) reuses what it compiled last time.
work="$CACHE_DIR/kyverno-build"
rm -rf "$work"
mkdir -p "$work"
trap 'rm -rf "$work"' EXIT
cp -r "$module_dir" "$work/src"
chmod -R u+w "$work/src"

mkdir -p "$BIN_DIR"
echo "building kyverno $KYVERNO_VERSION with $(go version) (10-20 minutes on a cold build cache)..." >&2
(cd "$work/src" && go build -ldflags "-X $VERSION_VAR=$KYVERNO_VERSION" -o "$work/kyverno" ./cmd/kyverno) >&2
have="$(stamped_version "$work/kyverno")"
if [[ "$have" != "$KYVERNO_VERSION" ]]; then
  echo "install-kyverno: the built binary reports '${have:-no version}', not $KYVERNO_VERSION" >&2
  exit 1
fi
mv "$work/kyverno" "$KYVERNO_BIN"

rm -rf "$CRD_DIR"
mkdir -p "$CRD_DIR"
for group in "${CRD_GROUPS[@]}"; do
  cp -r "$work/src/config/crds/$group" "$CRD_DIR/$group"
done
chmod -R u+w "$CRD_DIR"
echo "kyverno $have installed at $KYVERNO_BIN (CRDs in $CRD_DIR)" >&2
echo "$KYVERNO_BIN"
