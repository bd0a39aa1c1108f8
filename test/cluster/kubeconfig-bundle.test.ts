/**
 * dist/vendor/kubeconfig.js (scripts/bundle-kubeconfig.mjs), built into a temporary folder: it
 * must hold KubeConfig with its auth, and none of the generated API models it exists to leave out.
 */
import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import type { RequestOptions } from 'node:https';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import type { KubeConfig } from '@kubernetes/client-node';

const execFileAsync = promisify(execFile);
const SCRIPT = path.resolve('scripts', 'bundle-kubeconfig.mjs');

const KUBECONFIG = `
apiVersion: v1
kind: Config
clusters: [{name: c, cluster: {server: "https://127.0.0.1:6443", insecure-skip-tls-verify: true}}]
users: [{name: u, user: {token: bundled-token}}]
contexts: [{name: x, context: {cluster: c, user: u}}]
current-context: x
`;

describe('cluster: the kubeconfig bundle', function () {
  this.timeout(60_000);
  let dir = '';
  let bundle = '';

  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'mountgate-bundle-'));
    await execFileAsync(process.execPath, [SCRIPT, dir]);
    bundle = path.join(dir, 'kubeconfig.js');
  });
  after(async () => {
    if (dir !== '') await rm(dir, { recursive: true, force: true });
  });

  it('loads a kubeconfig and applies its cluster and token to a request', async () => {
    const loaded: unknown = await import(pathToFileURL(bundle).href);
    if (typeof loaded !== 'object' || loaded === null || !('KubeConfig' in loaded) || typeof loaded.KubeConfig !== 'function') throw new Error('no KubeConfig');
    const KubeConfigClass = loaded.KubeConfig as typeof KubeConfig;
    const config = new KubeConfigClass();
    config.loadFromString(KUBECONFIG);
    const options: RequestOptions = {};
    await config.applyToHTTPSOptions(options);
    expect(config.getCurrentCluster()?.server).to.equal('https://127.0.0.1:6443');
    expect(options.headers).to.deep.include({ Authorization: 'Bearer bundled-token' });
    expect(options.rejectUnauthorized).to.equal(false);
  });

  it('leaves out the generated API classes and models', async () => {
    const text = await readFile(bundle, 'utf8');
    for (const generated of ['class V1Pod ', 'class CoreV1Api', 'class ObjectSerializer']) expect(text, generated).not.to.include(generated);
    // The whole package index bundles to several MiB; what is left is well under one.
    expect((await stat(bundle)).size).to.be.below(2 * 1024 * 1024);
  });
});
