#!/usr/bin/env bash
# Builds the control plane the end-to-end tests run against: etcd and kube-apiserver, from Go
# modules (no release binaries are downloaded), into
#   ${XDG_CACHE_HOME:-$HOME/.cache}/mountgate/envtest/<k8s-version>/{etcd,kube-apiserver,kubectl}
# and, with --node, kubelet, kube-controller-manager, kube-scheduler and kube-proxy
# and prints that folder as its last line of stdout. Later runs reuse the binaries.
#
# If KUBEBUILDER_ASSETS names a folder that holds etcd and kube-apiserver (for example from
# controller-runtime's setup-envtest), that folder is used and nothing is built.
#
# Versions: kube-apiserver from k8s.io/kubernetes (apiserver/go.mod), etcd from
# go.etcd.io/etcd/server/v3 at the version that Kubernetes release pins in hack/lib/etcd.sh
# (etcd/go.mod). They are two modules so that each keeps exactly its own dependency versions.
# The first build takes tens of minutes on 2 cores.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

if [[ -n "${KUBEBUILDER_ASSETS:-}" ]]; then
  for bin in etcd kube-apiserver; do
    if [[ ! -x "${KUBEBUILDER_ASSETS}/${bin}" ]]; then
      echo "build.sh: KUBEBUILDER_ASSETS=${KUBEBUILDER_ASSETS} has no executable ${bin}" >&2
      exit 1
    fi
  done
  echo "build.sh: using KUBEBUILDER_ASSETS, building nothing" >&2
  echo "${KUBEBUILDER_ASSETS}"
  exit 0
fi

modver() { # modver DIR MODULE -> the version DIR/go.mod requires
  (cd "$1" && go list -m -f '{{.Version}}' "$2")
}

k8s_version="$(modver "${here}/apiserver" k8s.io/kubernetes)"
etcd_version="$(modver "${here}/etcd" go.etcd.io/etcd/server/v3)"
out="${XDG_CACHE_HOME:-${HOME}/.cache}/mountgate/envtest/${k8s_version}"
mkdir -p "${out}"

# Go 1.26 builds these releases as they are. A newer Go that refuses their dependencies' old
# go:linkname uses can be helped with MOUNTGATE_BUILD_LDFLAGS=-checklinkname=0.
ldflags_common="-s -w ${MOUNTGATE_BUILD_LDFLAGS:-}"
export CGO_ENABLED=0
export GOFLAGS="${GOFLAGS:-} -mod=readonly"
jobs="${MOUNTGATE_BUILD_JOBS:-2}"

build() { # build NAME DIR PACKAGE LDFLAGS VERSION-LINE
  local name="$1" dir="$2" pkg="$3" ldflags="$4" want="$5"
  if [[ -x "${out}/${name}" ]]; then
    local version_args=(--version)
    [[ "${name}" == kubectl ]] && version_args=(version --client)
    # grep reads to the end (no -q): a grep that left at the first match could end the binary with
    # SIGPIPE on its next line, which pipefail would take for a wrong version.
    if "${out}/${name}" "${version_args[@]}" 2>/dev/null | grep -xF "${want}" >/dev/null; then
      echo "build.sh: ${out}/${name} exists (${want}), not rebuilding" >&2
      return 0
    fi
    echo "build.sh: ${out}/${name} is not '${want}', rebuilding" >&2
  fi
  echo "build.sh: building ${name} (${pkg}) with $(go version) ..." >&2
  local start=${SECONDS}
  # Build to a temporary name, then rename: an interrupted build never leaves a broken binary.
  (cd "${dir}" && go build -trimpath -p "${jobs}" -ldflags "${ldflags}" -o "${out}/${name}.tmp" "${pkg}")
  mv -f "${out}/${name}.tmp" "${out}/${name}"
  echo "build.sh: built ${name} in $((SECONDS - start)) s" >&2
}

build etcd "${here}/etcd" . "${ldflags_common}" "etcd Version: ${etcd_version#v}"

v="${k8s_version#v}"
major="${v%%.*}"
rest="${v#*.}"
minor="${rest%%.*}"
pkgv=k8s.io/component-base/version
kube_ldflags="${ldflags_common} -X ${pkgv}.gitVersion=${k8s_version} -X ${pkgv}.gitMajor=${major} -X ${pkgv}.gitMinor=${minor} -X ${pkgv}.gitTreeState=clean"
build kube-apiserver "${here}/apiserver" k8s.io/kubernetes/cmd/kube-apiserver "${kube_ldflags}" "Kubernetes ${k8s_version}"
# kubectl from the same module, so the client the tests drive is the API server's own version.
build kubectl "${here}/apiserver" k8s.io/kubernetes/cmd/kubectl "${kube_ldflags}" "Client Version: ${k8s_version}"

# --node: the components of a real node, from the same module (test/node).
if [[ "${1:-}" == "--node" ]]; then
  build kubelet "${here}/apiserver" k8s.io/kubernetes/cmd/kubelet "${kube_ldflags}" "Kubernetes ${k8s_version}"
  build kube-controller-manager "${here}/apiserver" k8s.io/kubernetes/cmd/kube-controller-manager "${kube_ldflags}" "Kubernetes ${k8s_version}"
  build kube-scheduler "${here}/apiserver" k8s.io/kubernetes/cmd/kube-scheduler "${kube_ldflags}" "Kubernetes ${k8s_version}"
  build kube-proxy "${here}/apiserver" k8s.io/kubernetes/cmd/kube-proxy "${kube_ldflags}" "Kubernetes ${k8s_version}"
fi

echo "build.sh: kube-apiserver ${k8s_version}, etcd ${etcd_version}" >&2
echo "${out}"
