import { expect } from 'chai';
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseServeArgs } from '../../src/cli/serve-options.js';
import { UsageError } from '../../src/cli/usage.js';
import { BASE_POLICY } from '../helpers/policies.js';
import { eventually } from '../helpers/server.js';
import { createCa, httpsCall, issueServingPair } from '../helpers/tls.js';

const MAIN = join(process.cwd(), 'src/cli/main.ts');

interface Exit {
  code: number | null;
  stdout: string;
  stderr: string;
}

function mountgate(args: string[], env: NodeJS.ProcessEnv = {}): { child: ChildProcess; exit: Promise<Exit>; output: () => string } {
  const child = spawn(process.execPath, ['--import', 'tsx', MAIN, ...args], {
    env: { PATH: process.env.PATH, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exit = once(child, 'exit').then(([code]) => ({ code: code as number | null, stdout, stderr }));
  return { child, exit, output: () => stdout + stderr };
}

async function withDir<T>(body: (dir: string) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'mountgate-serve-'));
  try {
    return await body(dir);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

describe('cli: mountgate serve', function () {
  this.timeout(90_000);

  describe('options', () => {
    it('takes defaults, env and flags, flags winning', () => {
      const env = { MOUNTGATE_CONFIG: '/env/policy.yaml', MOUNTGATE_TLS_CERT: '/env/tls.crt', MOUNTGATE_TLS_KEY: '/env/tls.key', MOUNTGATE_PORT: '9443', MOUNTGATE_SHUTDOWN_DELAY: '7' };
      expect(parseServeArgs(['--port', '10443', '--host', '127.0.0.1'], env)).to.deep.equal({
        configPath: '/env/policy.yaml',
        tls: { certPath: '/env/tls.crt', keyPath: '/env/tls.key' },
        host: '127.0.0.1',
        port: 10443,
        metricsPort: 9090,
        maxConnections: 1024,
        shutdownDelaySeconds: 7,
        reloadIntervalMs: 1000,
        logLevel: 'info',
      });
      expect(parseServeArgs(['--config', 'p.yaml', '--dev'], {})).to.include({ tls: 'dev', host: '0.0.0.0', port: 8443, shutdownDelaySeconds: 5 });
    });

    it("takes the last of a flag given twice, so the chart's server.extraArgs can override a flag the chart sets", () => {
      expect(parseServeArgs(['--config', 'p.yaml', '--dev', '--shutdown-delay', '5', '--shutdown-delay', '12'], {})).to.include({ shutdownDelaySeconds: 12 });
    });

    it('takes --max-connections from the flag or MOUNTGATE_MAX_CONNECTIONS, the flag winning', () => {
      const base = ['--config', 'p.yaml', '--dev'];
      expect(parseServeArgs([...base, '--max-connections', '64'], { MOUNTGATE_MAX_CONNECTIONS: '32' }).maxConnections).to.equal(64);
      expect(parseServeArgs(base, { MOUNTGATE_MAX_CONNECTIONS: '32' }).maxConnections).to.equal(32);
      expect(parseServeArgs(base, { MOUNTGATE_MAX_CONNECTIONS: '' }).maxConnections).to.equal(1024);
    });

    it('turns on --mount-policies with its Lease, from flags or env, the identity defaulting to the hostname', () => {
      const base = ['--config', 'p.yaml', '--dev'];
      expect(parseServeArgs([...base, '--mount-policies', '--lease-namespace', 'mountgate-system'], {}, () => 'node-1').mountPolicies).to.deep.equal({
        kubeconfigPath: undefined,
        lease: { namespace: 'mountgate-system', name: 'mountgate-status', identity: 'node-1' },
      });
      const env = { MOUNTGATE_MOUNT_POLICIES: '1', MOUNTGATE_LEASE_NAMESPACE: 'ns', MOUNTGATE_LEASE_NAME: 'mg-status', MOUNTGATE_IDENTITY: 'pod-a', MOUNTGATE_KUBECONFIG: '/k' };
      expect(parseServeArgs(base, env).mountPolicies).to.deep.equal({ kubeconfigPath: '/k', lease: { namespace: 'ns', name: 'mg-status', identity: 'pod-a' } });
      expect(parseServeArgs([...base, '--identity', 'pod-b'], env).mountPolicies?.lease.identity).to.equal('pod-b');
      for (const off of ['false', '0', '']) expect(parseServeArgs(base, { ...env, MOUNTGATE_MOUNT_POLICIES: off }), off).not.to.have.property('mountPolicies');
      expect(parseServeArgs(base, {})).not.to.have.property('mountPolicies');
    });

    const bad: Array<[string, string[], string]> = [
      ['--mount-policies without a Lease namespace', ['--config', 'p', '--dev', '--mount-policies'], 'serve: --mount-policies needs --lease-namespace NS (or MOUNTGATE_LEASE_NAMESPACE): the namespace of the Lease that picks the replica writing status'],
      ['a Lease namespace that is no name', ['--config', 'p', '--dev', '--mount-policies', '--lease-namespace', 'Team_A'], 'serve: --lease-namespace must be a namespace name (a DNS-1123 label), not "Team_A"'],
      ['a Lease name that is no name', ['--config', 'p', '--dev', '--mount-policies', '--lease-namespace', 'a', '--lease-name', 'x/y'], 'serve: --lease-name must be a DNS-1123 subdomain, not "x/y"'],
      ['an empty identity', ['--config', 'p', '--dev', '--mount-policies', '--lease-namespace', 'a', '--identity', ' '], 'serve: --identity must be 1 to 253 characters, not " "'],
      ['no config', ['--dev'], 'serve: --config FILE is required (or MOUNTGATE_CONFIG)'],
      ['no certificate', ['--config', 'p'], 'serve: --tls-cert FILE and --tls-key FILE are required (or --dev for a self-signed certificate)'],
      ['--dev with a certificate', ['--config', 'p', '--dev', '--tls-cert', 'c'], 'serve: --dev replaces --tls-cert and --tls-key; give one or the other'],
      ['a port that is not a number', ['--config', 'p', '--dev', '--port', 'https'], 'serve: --port must be a port number from 0 to 65535, not "https"'],
      ['a port out of range', ['--config', 'p', '--dev', '--metrics-port', '70000'], 'serve: --metrics-port must be a port number from 0 to 65535, not "70000"'],
      ['a log level of the wrong case', ['--config', 'p', '--dev', '--log-level', 'INFO'], 'serve: --log-level must be one of fatal, error, warn, info, debug, trace, silent, not "INFO"'],
      ['no connections at all', ['--config', 'p', '--dev', '--max-connections', '0'], 'serve: --max-connections must be a whole number from 1 to 1000000, not "0"'],
      ['a fraction of a connection', ['--config', 'p', '--dev', '--max-connections', '10.5'], 'serve: --max-connections must be a whole number from 1 to 1000000, not "10.5"'],
      ['a connection cap past the bound', ['--config', 'p', '--dev', '--max-connections', '1000001'], 'serve: --max-connections must be a whole number from 1 to 1000000, not "1000001"'],
      ['a negative delay', ['--config', 'p', '--dev', '--shutdown-delay=-1'], 'serve: --shutdown-delay must be a number of seconds in digits, with a fraction after a digit if any (5, 0.5), not "-1"'],
      ['a flag without its value', ['--config', 'p', '--dev', '--port', '--host'], 'serve: --port takes a value, but "--host" after it begins with "-" and is read as a flag (give such a value as --port=VALUE)'],
      ['a delay that is not a number', ['--config', 'p', '--dev', '--shutdown-delay=soon'], 'serve: --shutdown-delay must be a number of seconds in digits, with a fraction after a digit if any (5, 0.5), not "soon"'],
      // Written as Number() reads it but not in the one form the docs and the chart use.
      ['a fraction without its leading digit', ['--config', 'p', '--dev', '--shutdown-delay', '.5'], 'serve: --shutdown-delay must be a number of seconds in digits, with a fraction after a digit if any (5, 0.5), not ".5"'],
      // Node runs longer timers after 1 ms: a delay of none, a reload interval polling every millisecond.
      ['a shutdown delay past the longest timer', ['--config', 'p', '--dev', '--shutdown-delay', '3000000'], 'serve: --shutdown-delay must be at most 2147483.647 seconds (about 24.8 days), not "3000000"'],
      ['a reload interval past the longest timer', ['--config', 'p', '--dev', '--reload-interval', '2147483.648'], 'serve: --reload-interval must be at most 2147483.647 seconds (about 24.8 days), not "2147483.648"'],
      // "At least 0.1", as its usage says: refused below that rather than read as 0.1.
      ['a reload interval of none', ['--config', 'p', '--dev', '--reload-interval', '0'], 'serve: --reload-interval must be at least 0.1 seconds, not "0"'],
      ['a reload interval under 0.1 s', ['--config', 'p', '--dev', '--reload-interval', '0.05'], 'serve: --reload-interval must be at least 0.1 seconds, not "0.05"'],
      ['half a millisecond past the longest timer', ['--config', 'p', '--dev', '--reload-interval', '2147483.6475'], 'serve: --reload-interval must be at most 2147483.647 seconds (about 24.8 days), not "2147483.6475"'],
    ];
    for (const [name, argv, message] of bad) {
      it(`refuses ${name}`, () => expect(() => parseServeArgs(argv, {})).to.throw(UsageError).with.property('message', message));
    }

    const badSwitches: Array<[string, Record<string, string>, string]> = [
      ['MOUNTGATE_MOUNT_POLICIES=yes', { MOUNTGATE_MOUNT_POLICIES: 'yes', MOUNTGATE_LEASE_NAMESPACE: 'ns' }, 'serve: MOUNTGATE_MOUNT_POLICIES must be true, 1, false or 0, not "yes"'],
      ['MOUNTGATE_MOUNT_POLICIES=no', { MOUNTGATE_MOUNT_POLICIES: 'no' }, 'serve: MOUNTGATE_MOUNT_POLICIES must be true, 1, false or 0, not "no"'],
      ['MOUNTGATE_POD_SECURITY_PREFLIGHT=TRUE', { MOUNTGATE_POD_SECURITY_PREFLIGHT: 'TRUE' }, 'serve: MOUNTGATE_POD_SECURITY_PREFLIGHT must be true, 1, false or 0, not "TRUE"'],
      ['MOUNTGATE_POD_SECURITY_PREFLIGHT=on', { MOUNTGATE_POD_SECURITY_PREFLIGHT: 'on' }, 'serve: MOUNTGATE_POD_SECURITY_PREFLIGHT must be true, 1, false or 0, not "on"'],
    ];
    for (const [name, env, message] of badSwitches) {
      it(`refuses ${name}`, () => expect(() => parseServeArgs(['--config', 'p', '--dev'], env)).to.throw(UsageError).with.property('message', message));
    }

    // A value from a variable is refused under the variable's name: the command line has no such flag.
    const mountPolicies = ['--mount-policies', '--lease-namespace', 'ns'];
    const badVariables: Array<[string, string[], Record<string, string>, string]> = [
      ['MOUNTGATE_PORT=abc', [], { MOUNTGATE_PORT: 'abc' }, 'serve: MOUNTGATE_PORT must be a port number from 0 to 65535, not "abc"'],
      ['MOUNTGATE_METRICS_PORT=70000', [], { MOUNTGATE_METRICS_PORT: '70000' }, 'serve: MOUNTGATE_METRICS_PORT must be a port number from 0 to 65535, not "70000"'],
      ['MOUNTGATE_MAX_CONNECTIONS=0', [], { MOUNTGATE_MAX_CONNECTIONS: '0' }, 'serve: MOUNTGATE_MAX_CONNECTIONS must be a whole number from 1 to 1000000, not "0"'],
      ['MOUNTGATE_SHUTDOWN_DELAY=soon', [], { MOUNTGATE_SHUTDOWN_DELAY: 'soon' }, 'serve: MOUNTGATE_SHUTDOWN_DELAY must be a number of seconds in digits, with a fraction after a digit if any (5, 0.5), not "soon"'],
      ['MOUNTGATE_RELOAD_INTERVAL=3000000', [], { MOUNTGATE_RELOAD_INTERVAL: '3000000' }, 'serve: MOUNTGATE_RELOAD_INTERVAL must be at most 2147483.647 seconds (about 24.8 days), not "3000000"'],
      ['MOUNTGATE_LOG_LEVEL=loud', [], { MOUNTGATE_LOG_LEVEL: 'loud' }, 'serve: MOUNTGATE_LOG_LEVEL must be one of fatal, error, warn, info, debug, trace, silent, not "loud"'],
      ['MOUNTGATE_LEASE_NAMESPACE=Team_A', ['--mount-policies'], { MOUNTGATE_LEASE_NAMESPACE: 'Team_A' }, 'serve: MOUNTGATE_LEASE_NAMESPACE must be a namespace name (a DNS-1123 label), not "Team_A"'],
      ['MOUNTGATE_LEASE_NAME=x/y', mountPolicies, { MOUNTGATE_LEASE_NAME: 'x/y' }, 'serve: MOUNTGATE_LEASE_NAME must be a DNS-1123 subdomain, not "x/y"'],
      ['MOUNTGATE_IDENTITY=" "', mountPolicies, { MOUNTGATE_IDENTITY: ' ' }, 'serve: MOUNTGATE_IDENTITY must be 1 to 253 characters, not " "'],
      ['--port x over MOUNTGATE_PORT=1: the flag', ['--port', 'x'], { MOUNTGATE_PORT: '1' }, 'serve: --port must be a port number from 0 to 65535, not "x"'],
    ];
    for (const [name, argv, env, message] of badVariables) {
      it(`refuses ${name}, naming where the value came from`, () => expect(() => parseServeArgs(['--config', 'p', '--dev', ...argv], env)).to.throw(UsageError).with.property('message', message));
    }
    it('takes --port 9443 over MOUNTGATE_PORT=abc: a variable the flag overrides is not read', () => {
      expect(parseServeArgs(['--config', 'p', '--dev', '--port', '9443'], { MOUNTGATE_PORT: 'abc' }).port).to.equal(9443);
    });
  });

  describe('the process', () => {
    it('exits 2 with one line naming the policy file and field', async () => {
      await withDir(async (dir) => {
        const config = join(dir, 'policy.yaml');
        await writeFile(config, 'allowedHostPaths: [{pathPrefix: /}]\n');
        const result = await mountgate(['serve', '--config', config, '--dev', '--port', '0', '--metrics-port', '0', '--host', '127.0.0.1']).exit;
        expect(result).to.deep.equal({
          code: 2,
          stdout: '',
          stderr: `mountgate: ${config}: invalid policy: allowedHostPaths[0].pathPrefix must not be "/" (that would allow the whole node)\n`,
        });
      });
    });

    it('exits 2 with one line when --mount-policies cannot load its kubeconfig', async () => {
      await withDir(async (dir) => {
        const config = join(dir, 'policy.yaml');
        const kubeconfig = join(dir, 'missing.kubeconfig');
        await writeFile(config, '{}');
        const result = await mountgate(['serve', '--config', config, '--dev', '--port', '0', '--metrics-port', '0', '--host', '127.0.0.1', '--mount-policies', '--lease-namespace', 'mg', '--kubeconfig', kubeconfig]).exit;
        expect(result.code).to.equal(2);
        expect(result.stderr).to.match(new RegExp(`^mountgate: ${kubeconfig.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}: cannot load a cluster for --mount-policies: [^\n]*ENOENT[^\n]*\n$`));
      });
    });

    // Without any kubeconfig the client would fall back to an unauthenticated http://localhost:8080 and only fail there.
    for (const [flags, purpose] of [
      [['--mount-policies', '--lease-namespace', 'mg'], '--mount-policies'],
      [['--pod-security-preflight'], 'the Pod Security preflight'],
    ] as const) {
      it(`exits 2 with one line when ${flags[0]} finds no kubeconfig at all`, async () => {
        await withDir(async (dir) => {
          const config = join(dir, 'policy.yaml');
          await writeFile(config, '{}');
          const result = await mountgate(['serve', '--config', config, '--dev', '--port', '0', '--metrics-port', '0', '--host', '127.0.0.1', ...flags], { HOME: dir }).exit;
          // stdout holds the --dev certificate's warning, logged before the kubeconfig is read.
          expect({ code: result.code, stderr: result.stderr }).to.deep.equal({
            code: 2,
            stderr: `mountgate: the default kubeconfig (KUBECONFIG, ~/.kube/config or in-cluster): cannot load a cluster for ${purpose}: none found: KUBECONFIG is not set, there is no ~/.kube/config, and no service account token is mounted\n`,
          });
        });
      });
    }

    it('exits 2 with one line naming a missing certificate', async () => {
      await withDir(async (dir) => {
        const config = join(dir, 'policy.yaml');
        await writeFile(config, '{}');
        const result = await mountgate(['serve', '--config', config, '--tls-cert', join(dir, 'missing.crt'), '--tls-key', join(dir, 'missing.key'), '--port', '0', '--metrics-port', '0']).exit;
        expect(result).to.deep.equal({ code: 2, stdout: '', stderr: `mountgate: ${join(dir, 'missing.crt')}: cannot read the file: no such file\n` });
      });
    });

    it('exits 2 when the key does not match the certificate', async () => {
      await withDir(async (dir) => {
        const pki = await createCa();
        const [one, two] = await Promise.all([issueServingPair(pki), issueServingPair(pki)]);
        await writeFile(join(dir, 'policy.yaml'), '{}');
        await writeFile(join(dir, 'tls.crt'), one.cert);
        await writeFile(join(dir, 'tls.key'), two.key);
        const result = await mountgate(['serve', '--config', join(dir, 'policy.yaml'), '--tls-cert', join(dir, 'tls.crt'), '--tls-key', join(dir, 'tls.key'), '--port', '0', '--metrics-port', '0']).exit;
        expect(result.code).to.equal(2);
        expect(result.stderr).to.equal(`mountgate: ${join(dir, 'tls.key')}: the private key does not match the certificate in ${join(dir, 'tls.crt')}\n`);
      });
    });

    const cannotListen: Array<[string, string, RegExp]> = [
      ['a --host that does not resolve', 'no-such-host.invalid', /^mountgate: cannot listen on no-such-host\.invalid:0: getaddrinfo (ENOTFOUND|EAI_AGAIN) no-such-host\.invalid\n$/],
    ];
    for (const [name, host, stderr] of cannotListen) {
      it(`exits 2 with one line when it cannot listen: ${name}`, async () => {
        await withDir(async (dir) => {
          const config = join(dir, 'policy.yaml');
          await writeFile(config, '{}');
          const result = await mountgate(['serve', '--config', config, '--dev', '--port', '0', '--metrics-port', '0', '--host', host]).exit;
          expect(result.code).to.equal(2);
          expect(result.stderr).to.match(stderr);
        });
      });
    }

    it('exits 2 on an unknown command, printing the usage', async () => {
      const result = await mountgate(['launch']).exit;
      expect(result.code).to.equal(2);
      expect(result.stderr.split('\n')[0]).to.equal('mountgate: unknown command "launch"');
    });

    /** A real `mountgate serve` on a random loopback port with a fresh CA, ready (/readyz 200) when `use` is called; killed after. */
    async function withServing(
      shutdownDelay: string,
      use: (served: { proc: ReturnType<typeof mountgate>; readyz: () => Promise<number>; healthz: () => Promise<number> }) => Promise<void>,
    ): Promise<void> {
      await withDir(async (dir) => {
        const pki = await createCa();
        const pair = await issueServingPair(pki);
        await writeFile(join(dir, 'policy.json'), JSON.stringify(BASE_POLICY));
        await writeFile(join(dir, 'tls.crt'), pair.cert);
        await writeFile(join(dir, 'tls.key'), pair.key);
        const port = 20000 + Math.floor(Math.random() * 20000);
        const env = { MOUNTGATE_CONFIG: join(dir, 'policy.json'), MOUNTGATE_TLS_CERT: join(dir, 'tls.crt'), MOUNTGATE_TLS_KEY: join(dir, 'tls.key'), MOUNTGATE_HOST: '127.0.0.1' };
        const proc = mountgate(['serve', '--port', String(port), '--metrics-port', '0', '--shutdown-delay', shutdownDelay], env);
        const status = (path: string) => (): Promise<number> => httpsCall({ port, path, ca: pki.caCert }).then((answer) => answer.status);
        try {
          // Starting node with tsx can take long on a loaded machine; this is a wait, not a measurement.
          await eventually(() => status('/readyz')().then((code) => code === 200, () => false), 60_000);
          await use({ proc, readyz: status('/readyz'), healthz: status('/healthz') });
        } finally {
          proc.child.kill('SIGKILL');
        }
      });
    }

    it('drains on SIGTERM: 503 at once, serves through the delay, exits 0', async () => {
      await withServing('3', async ({ proc, readyz, healthz }) => {
        const signalled = Date.now();
        proc.child.kill('SIGTERM');
        await eventually(() => readyz().then((code) => code === 503, () => false), 2_500);
        expect(await healthz()).to.equal(200);
        const result = await proc.exit;
        expect(result.code, result.stderr).to.equal(0);
        expect(Date.now() - signalled).to.be.at.least(3000);
        const messages = result.stdout.trim().split('\n').map((line) => (JSON.parse(line) as { msg: string }).msg);
        expect(messages).to.include.members(['mountgate is serving', 'signal received', 'draining: not ready, still serving', 'stopped']);
      });
    });

    it('a second SIGTERM while draining closes without waiting for the rest of the delay, and exits 0', async () => {
      await withServing('60', async ({ proc }) => {
        proc.child.kill('SIGTERM');
        await eventually(async () => proc.output().includes('draining: not ready, still serving'), 5_000);
        const hurried = Date.now();
        proc.child.kill('SIGTERM');
        const result = await proc.exit;
        expect(result.code, result.stderr).to.equal(0);
        // The delay was 60 s: what is left of it was not waited for.
        expect(Date.now() - hurried, 'ms from the second signal to the exit').to.be.below(20_000);
        const messages = result.stdout.trim().split('\n').map((line) => (JSON.parse(line) as { msg: string }).msg);
        expect(messages.slice(messages.indexOf('signal received'))).to.deep.equal([
          'signal received',
          'draining: not ready, still serving',
          'second signal: closing without waiting for the shutdown delay',
          'stopped',
        ]);
      });
    });

    const signalRows: ReadonlyArray<{ name: string; signal: NodeJS.Signals; logged: string }> = [
      // Node's default for SIGHUP ends the process at once, dropping requests in flight; `kill -HUP`,
      // which many daemons take as "reload", must not take the webhook down.
      { name: 'SIGHUP keeps it serving and says the files are re-read on their own', signal: 'SIGHUP', logged: 'SIGHUP ignored: mountgate re-reads its files every --reload-interval' },
      { name: 'SIGINT drains like SIGTERM', signal: 'SIGINT', logged: 'draining: not ready, still serving' },
    ];
    for (const row of signalRows) {
      it(`on a signal: ${row.name}; exits 0 once stopped`, async () => {
        await withServing('0.5', async ({ proc, readyz }) => {
          proc.child.kill(row.signal);
          await eventually(async () => proc.output().includes(row.logged), 5_000);
          if (row.signal === 'SIGHUP') {
            expect(proc.child.exitCode, 'still running').to.equal(null);
            expect(await readyz()).to.equal(200);
            proc.child.kill('SIGTERM');
          }
          const result = await proc.exit;
          expect(result.code, result.stderr).to.equal(0);
          expect(result.stdout).to.include('"msg":"stopped"');
        });
      });
    }
  });
});
