import { expect } from 'chai';
import { createServer, type Server } from 'node:http';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { audit } from '../../src/cli/audit.js';
import { EXIT_USAGE } from '../../src/cli/usage.js';
import { BASE_POLICY } from '../helpers/policies.js';

/** A fake API server on loopback that refuses every request with a Status whose message holds an escape sequence. */
async function refusingApiServer(): Promise<Server> {
  const server = createServer((_req, res) => {
    res.writeHead(403, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify({ kind: 'Status', apiVersion: 'v1', status: 'Failure', reason: 'Forbidden', code: 403, message: 'pods is forbidden: \u001b[2Jcleared' }));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return server;
}

describe('cli: mountgate audit, API errors', () => {
  it('names the API server\'s message, with control characters escaped: one line, no escape sequence to the terminal', async () => {
    const server = await refusingApiServer();
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
      expect({ code, stdout }).to.deep.equal({ code: EXIT_USAGE, stdout: '' });
      expect(stderr).to.equal('mountgate: audit: cannot list MountPolicies: HTTP 403: pods is forbidden: \\u001b[2Jcleared\n');
    } finally {
      server.close();
      await rm(dir, { recursive: true, force: true });
    }
  });
});
