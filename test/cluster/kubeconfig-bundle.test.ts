/**
 * dist/vendor/kubeconfig.js (scripts/bundle-kubeconfig.mjs), built into a temporary folder: it
 * must hold KubeConfig with its auth and proxies, and none of the generated API models or node-fetch
 * it exists to leave out.
 */
import { expect } from 'chai';
import { execFile } from 'node:child_process';
import { chmod, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { Agent, type RequestOptions } from 'node:https';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { promisify } from 'node:util';
import type { KubeConfig } from '@kubernetes/client-node';
import { keptAliveAgent } from '../../src/cluster/kept-alive.js';

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

/** A kubeconfig whose one cluster and user are given as YAML flow mappings. */
function kubeconfigOf(cluster: string, user: string): string {
  return [
    'apiVersion: v1',
    'kind: Config',
    `clusters: [{name: c, cluster: ${cluster}}]`,
    `users: [{name: u, user: ${user}}]`,
    'contexts: [{name: x, context: {cluster: c, user: u}}]',
    'current-context: x',
    '',
  ].join('\n');
}

describe('cluster: the kubeconfig bundle', function () {
  this.timeout(60_000);
  let dir = '';
  let bundle = '';

  async function loadedConfig(text: string): Promise<KubeConfig> {
    const loaded: unknown = await import(pathToFileURL(bundle).href);
    if (typeof loaded !== 'object' || loaded === null || !('KubeConfig' in loaded) || typeof loaded.KubeConfig !== 'function') throw new Error('no KubeConfig');
    const KubeConfigClass = loaded.KubeConfig as typeof KubeConfig;
    const config = new KubeConfigClass();
    config.loadFromString(text);
    return config;
  }

  before(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'mountgate-bundle-'));
    await execFileAsync(process.execPath, [SCRIPT, dir]);
    bundle = path.join(dir, 'kubeconfig.js');
  });
  after(async () => {
    if (dir !== '') await rm(dir, { recursive: true, force: true });
  });

  it('loads a kubeconfig and applies its cluster and token to a request', async () => {
    const config = await loadedConfig(KUBECONFIG);
    const options: RequestOptions = {};
    await config.applyToHTTPSOptions(options);
    expect(config.getCurrentCluster()?.server).to.equal('https://127.0.0.1:6443');
    expect(options.headers).to.deep.include({ Authorization: 'Bearer bundled-token' });
    expect(options.rejectUnauthorized).to.equal(false);
  });

  it('runs an exec credential plugin and sends the token it prints', async () => {
    const plugin = path.join(dir, 'credential-plugin');
    const credential = { apiVersion: 'client.authentication.k8s.io/v1', kind: 'ExecCredential', status: { token: 'token-from-exec' } };
    await writeFile(plugin, `#!/bin/sh\necho '${JSON.stringify(credential)}'\n`);
    await chmod(plugin, 0o755);
    const exec = `{exec: {apiVersion: client.authentication.k8s.io/v1, command: ${JSON.stringify(plugin)}, interactiveMode: Never}}`;
    const config = await loadedConfig(kubeconfigOf('{server: "https://127.0.0.1:6443"}', exec));
    const options: RequestOptions = {};
    await config.applyToHTTPSOptions(options);
    expect(options.headers).to.deep.include({ Authorization: 'Bearer token-from-exec' });
  });

  const proxies = [
    { name: 'an HTTPS proxy', proxyUrl: 'http://127.0.0.1:3128', agent: 'HttpsProxyAgent' },
    { name: 'a SOCKS proxy', proxyUrl: 'socks5://127.0.0.1:1080', agent: 'SocksProxyAgent' },
  ];
  for (const row of proxies) {
    it(`sends requests through ${row.name} named by proxy-url`, async () => {
      const config = await loadedConfig(kubeconfigOf(`{server: "https://127.0.0.1:6443", proxy-url: "${row.proxyUrl}"}`, '{token: t}'));
      const options: RequestOptions = {};
      await config.applyToHTTPSOptions(options);
      // esbuild numbers a class whose name clashes with another in the bundle.
      expect(options.agent?.constructor.name).to.match(new RegExp(`^${row.agent}\\d*$`));
      expect(keptAliveAgent(config, options.agent)).to.equal(options.agent, "a proxy's agent is used as it is");
    });
  }

  it("gives Node's own https.Agent without a proxy, which mountgate replaces by a kept-alive one", async () => {
    const config = await loadedConfig(KUBECONFIG);
    const options: RequestOptions = {};
    await config.applyToHTTPSOptions(options);
    expect(options.agent?.constructor).to.equal(Agent);
    expect(keptAliveAgent(config, options.agent)).to.not.equal(options.agent);
  });

  it('says makeApiClient is not in it, rather than making a client', async () => {
    const config = await loadedConfig(KUBECONFIG);
    // Any class will do: the call must fail before it is constructed.
    expect(() => config.makeApiClient(class {} as never)).to.throw("makeApiClient is not in mountgate's kubeconfig bundle");
  });

  it('leaves out the generated API classes and models, and node-fetch', async () => {
    const text = await readFile(bundle, 'utf8');
    for (const generated of ['class V1Pod ', 'class CoreV1Api', 'class ObjectSerializer', 'node_modules/node-fetch/', 'node_modules/tr46/']) {
      expect(text, generated).not.to.include(generated);
    }
    // The whole package index bundles to several MiB; what is left is well under one.
    expect((await stat(bundle)).size).to.be.below(2 * 1024 * 1024);
  });
});
