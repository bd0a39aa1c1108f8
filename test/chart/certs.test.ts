/** certs/gen-certs.sh: a CA and a serving certificate that verify, with the SANs asked for. */
import { expect } from 'chai';
import { X509Certificate, createPrivateKey } from 'node:crypto';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { GEN_CERTS, REPO_ROOT, run } from './helm.js';

describe('certs/gen-certs.sh', function () {
  let dir = '';
  beforeEach(function () {
    dir = mkdtempSync(path.join(tmpdir(), 'mountgate-gen-certs-'));
  });
  afterEach(function () {
    rmSync(dir, { recursive: true, force: true });
  });

  function load(sub: string): { ca: X509Certificate; cert: X509Certificate; keyPem: string; b64: string } {
    const f = (n: string): string => path.join(dir, sub, n);
    return {
      ca: new X509Certificate(readFileSync(f('ca.crt'))),
      cert: new X509Certificate(readFileSync(f('tls.crt'))),
      keyPem: readFileSync(f('tls.key'), 'utf8'),
      b64: readFileSync(f('ca.b64'), 'utf8'),
    };
  }

  const rows: { name: string; args: string[]; hosts: string[]; ips: string[]; notHosts: string[]; keyType: string }[] = [
    {
      name: 'defaults: Service mountgate in namespace mountgate, plus localhost and 127.0.0.1',
      args: [],
      hosts: ['mountgate', 'mountgate.mountgate', 'mountgate.mountgate.svc', 'mountgate.mountgate.svc.cluster.local', 'localhost'],
      ips: ['127.0.0.1'],
      notHosts: ['example.com'],
      keyType: 'ec',
    },
    {
      name: 'a custom Service, namespace, extra DNS name and IP, RSA keys',
      args: ['--service', 'mg-mountgate', '--namespace', 'sandbox-admission', '--dns', 'webhook.example.com', '--ip', '10.1.2.3', '--key-type', 'rsa'],
      hosts: ['mg-mountgate.sandbox-admission.svc', 'mg-mountgate.sandbox-admission.svc.cluster.local', 'webhook.example.com', 'localhost'],
      ips: ['127.0.0.1', '10.1.2.3'],
      notHosts: ['mountgate.mountgate.svc'],
      keyType: 'rsa',
    },
    {
      name: '--no-local leaves out localhost and 127.0.0.1',
      args: ['--no-local'],
      hosts: ['mountgate.mountgate.svc'],
      ips: [],
      notHosts: ['localhost'],
      keyType: 'ec',
    },
  ];

  for (const row of rows) {
    it(row.name, function () {
      const res = run('bash', [GEN_CERTS, path.join(dir, 'out'), ...row.args]);
      expect(res.status, res.stderr).to.equal(0);
      const { ca, cert, keyPem, b64 } = load('out');
      expect(ca.ca).to.equal(true);
      expect(cert.ca).to.equal(false);
      expect(cert.checkIssued(ca)).to.equal(true);
      expect(cert.verify(ca.publicKey)).to.equal(true);
      const key = createPrivateKey(keyPem);
      expect(cert.checkPrivateKey(key)).to.equal(true);
      expect(key.asymmetricKeyType).to.equal(row.keyType);
      for (const h of row.hosts) expect(cert.checkHost(h), h).to.equal(h);
      for (const h of row.notHosts) expect(cert.checkHost(h), h).to.equal(undefined);
      for (const ip of row.ips) expect(cert.checkIP(ip), ip).to.equal(ip);
      if (row.ips.length === 0) expect(cert.checkIP('127.0.0.1')).to.equal(undefined);
      expect(cert.keyUsage ?? []).to.include('1.3.6.1.5.5.7.3.1'); // serverAuth
      expect(Buffer.from(b64, 'base64').toString('utf8')).to.equal(readFileSync(path.join(dir, 'out', 'ca.crt'), 'utf8'));
      for (const k of ['tls.key', 'ca.key']) {
        expect(statSync(path.join(dir, 'out', k)).mode & 0o777, k).to.equal(0o600);
      }
    });
  }

  it("the chart README's example writes the keys and certificates where git ignores them", function () {
    const readme = readFileSync(path.join(REPO_ROOT, 'charts', 'mountgate', 'README.md'), 'utf8');
    const outDirs = [...readme.matchAll(/^certs\/gen-certs\.sh (\S+)/gm)].map((m) => m[1] ?? '');
    expect(outDirs).to.not.deep.equal([]);
    for (const out of outDirs) {
      for (const f of ['ca.key', 'tls.key', 'ca.crt', 'tls.crt', 'ca.b64']) {
        // git check-ignore exits 0 for a path it ignores, 1 for one `git add` would take.
        expect(run('git', ['-C', REPO_ROOT, 'check-ignore', '-q', path.join(out, f)]).status, path.join(out, f)).to.equal(0);
      }
    }
  });

  it('refuses to overwrite without --force, and overwrites with it', function () {
    const out = path.join(dir, 'out');
    expect(run('bash', [GEN_CERTS, out]).status).to.equal(0);
    const first = readFileSync(path.join(out, 'ca.crt'), 'utf8');
    const again = run('bash', [GEN_CERTS, out]);
    expect(again.status).to.equal(2);
    expect(again.stderr).to.include('exists (use --force to overwrite)');
    expect(readFileSync(path.join(out, 'ca.crt'), 'utf8')).to.equal(first);
    expect(run('bash', [GEN_CERTS, out, '--force']).status).to.equal(0);
    expect(readFileSync(path.join(out, 'ca.crt'), 'utf8')).to.not.equal(first);
  });

  const usageRows: { name: string; args: string[]; message: string }[] = [
    { name: 'no output folder', args: [], message: 'gen-certs.sh OUTDIR' },
    { name: 'an unknown option', args: ['x', '--bogus'], message: 'unknown option --bogus' },
    { name: 'a Service name that is no DNS label', args: ['x', '--service', 'Bad_Name'], message: 'is not a DNS label' },
    { name: 'a bad key type', args: ['x', '--key-type', 'dsa'], message: '--key-type must be ec or rsa' },
    { name: 'zero days', args: ['x', '--days', '0'], message: 'is not a positive integer' },
    { name: 'an --ip that is no IP address', args: ['x', '--ip', 'not-an-ip'], message: "--ip 'not-an-ip' is not an IP address" },
    { name: 'an --ip with an octet above 255', args: ['x', '--ip', '300.1.1.1'], message: "--ip '300.1.1.1' is not an IP address" },
    { name: 'a --dns name with a comma, which would add a SAN of its own', args: ['x', '--dns', 'x,IP:10.9.9.9'], message: "--dns 'x,IP:10.9.9.9' is not a DNS name" },
    { name: 'a --dns name with a space', args: ['x', '--dns', 'a b'], message: "--dns 'a b' is not a DNS name" },
    { name: 'a --dns name with a line break, which would add a line to the extensions', args: ['x', '--dns', 'x\nbasicConstraints = critical,CA:TRUE'], message: 'is not a DNS name' },
  ];
  for (const row of usageRows) {
    it(`exits 2 on ${row.name}`, function () {
      const res = run('bash', [GEN_CERTS, ...row.args.map((a) => (a === 'x' ? path.join(dir, 'x') : a))]);
      expect(res.status).to.equal(2);
      expect(res.stderr).to.include(row.message);
      expect(existsSync(path.join(dir, 'x', 'tls.crt'))).to.equal(false);
    });
  }

  it('exits 2 on a bad name in MOUNTGATE_EXTRA_DNS or MOUNTGATE_EXTRA_IPS', function () {
    for (const [name, value, message] of [
      ['MOUNTGATE_EXTRA_DNS', 'ok.example.com bad,DNS:evil.example.com', "--dns 'bad,DNS:evil.example.com' is not a DNS name"],
      ['MOUNTGATE_EXTRA_IPS', '10.0.0.1 10.0.0', "--ip '10.0.0' is not an IP address"],
    ] as const) {
      const res = run('bash', [GEN_CERTS, path.join(dir, 'x')], { ...process.env, [name]: value });
      expect(res.status, name).to.equal(2);
      expect(res.stderr, name).to.include(message);
    }
  });

  it('accepts a wildcard --dns name and an IPv6 --ip', function () {
    const res = run('bash', [GEN_CERTS, path.join(dir, 'out'), '--dns', '*.webhook.example.com', '--ip', 'fd00::10']);
    expect(res.status, res.stderr).to.equal(0);
    const { cert } = load('out');
    expect(cert.checkHost('a.webhook.example.com')).to.equal('*.webhook.example.com');
    expect(cert.checkIP('fd00::10')).to.equal('fd00::10');
  });

  it('says why openssl refused an address it was given, and exits 1', function () {
    const res = run('bash', [GEN_CERTS, path.join(dir, 'out'), '--ip', '1:2']);
    expect(res.status).to.equal(1);
    expect(res.stderr).to.include('bad ip address');
    expect(existsSync(path.join(dir, 'out', 'tls.crt'))).to.equal(false);
  });
});
