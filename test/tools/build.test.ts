/**
 * test/e2e/tools/build.sh's reuse of the binaries it built: with a `go` on PATH that only answers
 * `go list -m` and records every `go build`, and binaries already in the cache folder that print
 * their version the way the real ones do (several lines, written one at a time).
 */
import { expect } from 'chai';
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
const BUILD_SH = path.join(REPO_ROOT, 'test', 'e2e', 'tools', 'build.sh');
const K8S = 'v1.34.0';
const ETCD = 'v3.6.5';

/** `go list -m` answers with the versions above; `go build` appends its -o to BUILD_LOG and writes a stub there. */
const FAKE_GO = `#!/bin/sh
case "$1" in
  list) case "$PWD" in */apiserver) echo ${K8S} ;; */etcd) echo ${ETCD} ;; esac ;;
  version) echo 'go version go0.0 fake' ;;
  build)
    while [ "$#" -gt 0 ]; do if [ "$1" = -o ]; then out="$2"; fi; shift; done
    echo "$out" >>"$BUILD_LOG"
    printf '#!/bin/sh\\n' >"$out"; chmod +x "$out" ;;
esac
`;

function executable(file: string, text: string): void {
  writeFileSync(file, text);
  chmodSync(file, 0o755);
}

describe('test/e2e/tools/build.sh', function () {
  let dir = '';
  beforeEach(function () {
    dir = mkdtempSync(path.join(tmpdir(), 'mountgate-build-sh-'));
  });
  afterEach(function () {
    rmSync(dir, { recursive: true, force: true });
  });

  it('reuses binaries whose version answer goes on after the line it looks for (no rebuild)', function () {
    const bin = path.join(dir, 'bin');
    const cache = path.join(dir, 'cache');
    const out = path.join(cache, 'mountgate', 'envtest', K8S);
    mkdirSync(bin);
    mkdirSync(out, { recursive: true });
    executable(path.join(bin, 'go'), FAKE_GO);
    // etcd --version and kubectl version --client print more lines after the one build.sh matches.
    executable(path.join(out, 'etcd'), `#!/bin/sh\necho 'etcd Version: ${ETCD.slice(1)}'\nsleep 0.5\necho 'Git SHA: 0000000'\necho 'Go Version: go0.0'\n`);
    executable(path.join(out, 'kube-apiserver'), `#!/bin/sh\necho 'Kubernetes ${K8S}'\n`);
    executable(path.join(out, 'kubectl'), `#!/bin/sh\necho 'Client Version: ${K8S}'\nsleep 0.5\necho 'Kustomize Version: v5.7.1'\n`);
    const log = path.join(dir, 'build.log');
    const env: NodeJS.ProcessEnv = { ...process.env, PATH: `${bin}:${process.env['PATH'] ?? '/usr/bin:/bin'}`, XDG_CACHE_HOME: cache, BUILD_LOG: log };
    delete env['KUBEBUILDER_ASSETS'];
    const res = spawnSync('bash', [BUILD_SH], { env, encoding: 'utf8', timeout: 30_000 });
    expect(res.status, res.stderr).to.equal(0);
    expect(res.stdout.trim().split('\n').at(-1)).to.equal(out);
    expect(existsSync(log) ? readFileSync(log, 'utf8') : '', res.stderr).to.equal('');
    for (const name of ['etcd', 'kube-apiserver', 'kubectl']) expect(res.stderr).to.include(`${out}/${name} exists`);
  });
});
