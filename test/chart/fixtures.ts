/**
 * Shared fixtures: a CA and serving certificate made once by certs/gen-certs.sh (the secret-mode
 * caBundle and the TLS material of the scripts tests), removed when the process exits.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { GEN_CERTS, NAMESPACE, FULLNAME, VALUES_DIR, run } from './helm.js';

export interface TestCa {
  readonly dir: string;
  readonly caFile: string;
  readonly caPem: string;
  readonly certFile: string;
  readonly keyFile: string;
}

let cached: TestCa | undefined;

/** A CA plus a serving pair for FULLNAME in NAMESPACE, with localhost / 127.0.0.1 SANs. */
export function testCa(): TestCa {
  if (cached !== undefined) return cached;
  const dir = mkdtempSync(path.join(tmpdir(), 'mountgate-chart-ca-'));
  process.on('exit', () => rmSync(dir, { recursive: true, force: true }));
  const res = run('bash', [GEN_CERTS, dir, '--service', FULLNAME, '--namespace', NAMESPACE]);
  if (res.status !== 0) throw new Error(`gen-certs.sh failed (${res.status}): ${res.stderr}`);
  const caFile = path.join(dir, 'ca.crt');
  cached = {
    dir,
    caFile,
    caPem: readFileSync(caFile, 'utf8'),
    certFile: path.join(dir, 'tls.crt'),
    keyFile: path.join(dir, 'tls.key'),
  };
  return cached;
}

export type CertMode = 'helm' | 'certManager' | 'secret';

export interface ModeRow {
  readonly name: string;
  readonly mode: CertMode;
  readonly files: string[];
  readonly setFile: Record<string, string>;
}

/** One row per certificate mode: the values file and the --set-file the mode needs. */
export function modeRows(): ModeRow[] {
  return [
    { name: 'helm-generated certificates', mode: 'helm', files: [path.join(VALUES_DIR, 'mode-helm.yaml')], setFile: {} },
    { name: 'cert-manager', mode: 'certManager', files: [path.join(VALUES_DIR, 'mode-cert-manager.yaml')], setFile: {} },
    {
      name: 'existing Secret + caBundle',
      mode: 'secret',
      files: [path.join(VALUES_DIR, 'mode-secret.yaml')],
      setFile: { 'certs.secret.caBundle': testCa().caFile },
    },
  ];
}
