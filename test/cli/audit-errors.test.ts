import { expect } from 'chai';
import { createServer, type Server } from 'node:http';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { audit } from '../../src/cli/audit.js';
import { EXIT_USAGE, UsageError } from '../../src/cli/usage.js';
import { BASE_POLICY } from '../helpers/policies.js';

/** A fake API server on loopback that answers every request with `status` and `body`. */
async function fakeApiServer(status: number, body: unknown): Promise<Server> {
  const server = createServer((_req, res) => {
    res.writeHead(status, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify(body));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return server;
}

/** `mountgate audit` of the current namespace against `server`: its exit code and output. */
async function auditAgainst(server: Server): Promise<{ code: number; stdout: string; stderr: string }> {
  const dir = await mkdtemp(join(tmpdir(), 'mountgate-audit-'));
  try {
    const { port } = server.address() as AddressInfo;
    const kubeconfig = {
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'fake', cluster: { server: `http://127.0.0.1:${port}`, 'insecure-skip-tls-verify': true } }],
      users: [{ name: 'fake', user: { token: 'secret' } }],
      contexts: [{ name: 'fake', context: { cluster: 'fake', user: 'fake', namespace: 'agents' } }],
      'current-context': 'fake',
    };
    await writeFile(join(dir, 'kubeconfig'), JSON.stringify(kubeconfig));
    await writeFile(join(dir, 'policy.yaml'), JSON.stringify(BASE_POLICY));
    let stdout = '';
    let stderr = '';
    const code = await audit(
      { configPath: join(dir, 'policy.yaml'), kubeconfigPath: join(dir, 'kubeconfig'), pageSize: 250, scope: undefined, format: 'table' },
      { stdout: (text) => (stdout += text), stderr: (text) => (stderr += text), readStdin: () => Promise.resolve('') },
    );
    return { code, stdout, stderr };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

describe('cli: mountgate audit, API errors', () => {
  const rows: { name: string; status: number; body: unknown; stderr: string }[] = [
    {
      name: "names the API server's message, with control characters escaped: one line, no escape sequence to the terminal",
      status: 403,
      body: { kind: 'Status', apiVersion: 'v1', status: 'Failure', reason: 'Forbidden', code: 403, message: 'pods is forbidden: \u001b[2Jcleared' },
      stderr: 'mountgate: audit: cannot list MountPolicies: HTTP 403: pods is forbidden: \\u001b[2Jcleared\n',
    },
    {
      name: 'stops when a list of MountPolicies comes without its items, rather than judging as if there were none',
      status: 200,
      body: { kind: 'MountPolicyList', apiVersion: 'mountgate.io/v1alpha1', metadata: {} },
      stderr: 'mountgate: audit: cannot list MountPolicies: the answer holds no list of items\n',
    },
  ];
  for (const row of rows) {
    it(row.name, async () => {
      const server = await fakeApiServer(row.status, row.body);
      try {
        expect(await auditAgainst(server)).to.deep.equal({ code: EXIT_USAGE, stdout: '', stderr: row.stderr });
      } finally {
        server.close();
      }
    });
  }
});

describe('cli: mountgate audit, no kubeconfig', () => {
  it('refuses to start rather than ask an unauthenticated http://localhost:8080', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'mountgate-audit-'));
    const saved = { KUBECONFIG: process.env.KUBECONFIG, HOME: process.env.HOME };
    try {
      await writeFile(join(dir, 'policy.yaml'), JSON.stringify(BASE_POLICY));
      delete process.env.KUBECONFIG;
      process.env.HOME = dir;
      const io = { stdout: () => undefined, stderr: () => undefined, readStdin: () => Promise.resolve('') };
      const settings = { configPath: join(dir, 'policy.yaml'), kubeconfigPath: undefined, pageSize: 250, scope: undefined, format: 'table' } as const;
      const failure = await audit(settings, io).then(
        () => undefined,
        (error: unknown) => error,
      );
      expect(failure).to.be.instanceOf(UsageError);
      expect((failure as Error).message).to.equal(
        'audit: cannot load the kubeconfig: none found: KUBECONFIG is not set, there is no ~/.kube/config, and no service account token is mounted',
      );
    } finally {
      for (const [key, value] of Object.entries(saved)) {
        if (value === undefined) delete process.env[key];
        else process.env[key] = value;
      }
      await rm(dir, { recursive: true, force: true });
    }
  });
});
