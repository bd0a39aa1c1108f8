#!/usr/bin/env bash
# Installs the real helm CLI from the Go module proxy (no prebuilt downloads).
# Prints the path of the helm binary on stdout; progress goes to stderr.
# Usage: scripts/install-helm.sh            (HELM_VERSION overrides the pinned version)
#
# Built as helm's own Makefile builds a release: besides the version, the ldflags set the
# Kubernetes version `helm template` and `helm lint` assume without --kube-version
# (pkg/chartutil and pkg/lint/rules k8sVersionMajor/k8sVersionMinor), taken from the
# k8s.io/client-go version in helm's go.mod: client-go v0.X.Y is Kubernetes 1.X. Without them
# helm falls back to v1.20.0. A cached binary is reused only when both its version and that
# default match; one built without the default is rebuilt.
set -euo pipefail

HELM_VERSION="${HELM_VERSION:-v3.21.4}"
BIN_DIR="${MOUNTGATE_BIN_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/mountgate/bin}"
HELM_BIN="$BIN_DIR/helm"

if ! command -v go >/dev/null 2>&1; then
  if [[ -x /usr/local/go/bin/go ]]; then
    PATH="/usr/local/go/bin:$PATH"
  else
    echo "install-helm: the go toolchain is required (go install helm.sh/helm/v3/cmd/helm@$HELM_VERSION)" >&2
    exit 1
  fi
fi

# helm's go.mod at HELM_VERSION (from the module cache, downloaded once), and its client-go version.
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
gomod="$(cd "$work" && GO111MODULE=on go mod download -json "helm.sh/helm/v3@$HELM_VERSION" | sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",\{0,1\}$/\1/p')"
if [[ -z "$gomod" || ! -f "$gomod" ]]; then
  echo "install-helm: could not download helm.sh/helm/v3@$HELM_VERSION's go.mod" >&2
  exit 1
fi
client_go="$(awk '$1 == "k8s.io/client-go" && $2 ~ /^v0\.[0-9]+\./ { print $2; exit }' "$gomod")"
if [[ -z "$client_go" ]]; then
  echo "install-helm: no k8s.io/client-go v0.X.Y requirement in $gomod" >&2
  exit 1
fi
# As helm's Makefile: major = first component + 1, minor = second component.
IFS=. read -r cg_major cg_minor _ <<<"${client_go#v}"
K8S_MAJOR=$((cg_major + 1))
K8S_MINOR="$cg_minor"
want_kube="v$K8S_MAJOR.$K8S_MINOR.0"

# The Kubernetes version a helm binary renders for when given none.
default_kube_version() {
  local chart="$work/kube-version-probe" home="$work/helm-home"
  mkdir -p "$chart/templates"
  printf 'apiVersion: v2\nname: kube-version-probe\nversion: 0.1.0\n' >"$chart/Chart.yaml"
  printf 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: probe\ndata:\n  kubeVersion: {{ .Capabilities.KubeVersion.Version | quote }}\n' \
    >"$chart/templates/version.yaml"
  HELM_CACHE_HOME="$home/cache" HELM_CONFIG_HOME="$home/config" HELM_DATA_HOME="$home/data" \
    KUBECONFIG="$home/no-kubeconfig" \
    "$1" template probe "$chart" 2>/dev/null | sed -n 's/^[[:space:]]*kubeVersion: "\(v[0-9][^"]*\)"$/\1/p' | head -n 1
}

want="${HELM_VERSION#v}"
if [[ -x "$HELM_BIN" ]]; then
  have="$("$HELM_BIN" version --template '{{.Version}}' 2>/dev/null || true)"
  if [[ "${have#v}" == "$want" ]]; then
    have_kube="$(default_kube_version "$HELM_BIN" || true)"
    if [[ "$have_kube" == "$want_kube" ]]; then
      echo "helm $have (default Kubernetes $have_kube) already installed at $HELM_BIN" >&2
      echo "$HELM_BIN"
      exit 0
    fi
    echo "helm $have at $HELM_BIN renders for Kubernetes '${have_kube:-unknown}' by default, want $want_kube ($client_go): rebuilding" >&2
  else
    echo "helm at $HELM_BIN is '${have:-unknown}', want v$want: reinstalling" >&2
  fi
fi

mkdir -p "$BIN_DIR"
echo "building helm $HELM_VERSION (default Kubernetes $want_kube) with $(go version) into $BIN_DIR (takes a few minutes)..." >&2
# -ldflags as helm's Makefile: the version `helm version` reports, and the default Kubernetes version.
GOBIN="$BIN_DIR" go install \
  -ldflags "-X helm.sh/helm/v3/internal/version.version=$HELM_VERSION \
-X helm.sh/helm/v3/pkg/chartutil.k8sVersionMajor=$K8S_MAJOR -X helm.sh/helm/v3/pkg/chartutil.k8sVersionMinor=$K8S_MINOR \
-X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMajor=$K8S_MAJOR -X helm.sh/helm/v3/pkg/lint/rules.k8sVersionMinor=$K8S_MINOR" \
  "helm.sh/helm/v3/cmd/helm@$HELM_VERSION" >&2
"$HELM_BIN" version >&2
got_kube="$(default_kube_version "$HELM_BIN" || true)"
if [[ "$got_kube" != "$want_kube" ]]; then
  echo "install-helm: the helm just built renders for Kubernetes '${got_kube:-unknown}' by default, want $want_kube" >&2
  exit 1
fi
echo "helm renders for Kubernetes $got_kube by default" >&2
echo "$HELM_BIN"
