#!/usr/bin/env bash
# Builds the agent-sandbox controller (sigs.k8s.io/agent-sandbox, the second real caller the
# end-to-end tests drive) from the Go module proxy, into
#   ${XDG_CACHE_HOME:-$HOME/.cache}/mountgate/agent-sandbox/<version>/
# with its CRDs (crds/*.yaml) and RBAC (rbac.generated.yaml, extensions-rbac.generated.yaml) copied
# from the same module next to the binary, and prints that folder as its last line of stdout.
# Later runs reuse it. Measured on 2 busy cores: 3 minutes with the Go module and build caches
# warm, 10 from nothing.
set -euo pipefail

module=sigs.k8s.io/agent-sandbox
version="${MOUNTGATE_AGENT_SANDBOX_VERSION:-v1.0.1}"
out="${XDG_CACHE_HOME:-${HOME}/.cache}/mountgate/agent-sandbox/${version}"
bin="${out}/agent-sandbox-controller"

complete() {
  [[ -x "${bin}" && -f "${out}/rbac.generated.yaml" && -f "${out}/extensions-rbac.generated.yaml" && -d "${out}/crds" ]] &&
    go version -m "${bin}" 2>/dev/null | grep -qE "^[[:space:]]+mod[[:space:]]+${module}[[:space:]]+${version}[[:space:]]"
}

if complete; then
  echo "agent-sandbox.sh: ${bin} exists (${module} ${version}), not rebuilding" >&2
  echo "${out}"
  exit 0
fi

mkdir -p "${out}"
tmp="$(mktemp -d)"
trap 'rm -rf "${tmp}"' EXIT
echo "agent-sandbox.sh: building ${module}/cmd/agent-sandbox-controller@${version} with $(go version) ..." >&2
start=${SECONDS}
# From an empty folder, so no go.mod around us takes part; the module proxy only.
(cd "${tmp}" && GOBIN="${tmp}/bin" CGO_ENABLED=0 go install -trimpath -ldflags "-s -w" "${module}/cmd/agent-sandbox-controller@${version}")
echo "agent-sandbox.sh: built in $((SECONDS - start)) s" >&2

# The manifests of the very version built, from the module cache (files there are read-only).
src="$(go env GOMODCACHE)/${module}@${version}/k8s"
rm -rf "${out}/crds"
mkdir -p "${out}/crds"
cp "${src}"/crds/*.yaml "${out}/crds/"
cp "${src}/rbac.generated.yaml" "${src}/extensions-rbac.generated.yaml" "${out}/"
chmod -R u+w "${out}"
# The binary last, renamed into place: an interrupted run never leaves a folder that looks complete.
mv -f "${tmp}/bin/agent-sandbox-controller" "${bin}"
echo "${out}"
