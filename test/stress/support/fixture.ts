/**
 * A temporary directory laid out like a mountgate Pod's volumes: the policy
 * in a ConfigMap-style volume and the serving pair in a Secret-style one,
 * both updated the kubelet's way. Removed afterwards, whatever happens.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createCa, issueServingPair, type ServingPair, type TestPki } from '../../helpers/tls.js';
import { ProjectedVolume } from './projected-volume.js';
import type { ServeFiles } from './serve-process.js';

export interface Fixture {
  readonly dir: string;
  readonly pki: TestPki;
  readonly files: ServeFiles;
  readonly policyVolume: ProjectedVolume;
  readonly tlsVolume: ProjectedVolume;
  /** Issues a new serving pair from the same CA and publishes it atomically. */
  rotateCertificate(): Promise<ServingPair>;
  publishPolicy(policy: unknown): Promise<void>;
}

export async function withFixture<T>(policy: unknown, body: (fixture: Fixture, firstPair: ServingPair) => Promise<T>): Promise<T> {
  const dir = await mkdtemp(join(tmpdir(), 'mountgate-stress-'));
  try {
    const pki = await createCa();
    const policyVolume = new ProjectedVolume(join(dir, 'config'));
    const tlsVolume = new ProjectedVolume(join(dir, 'tls'));
    const publishPolicy = (next: unknown): Promise<void> =>
      policyVolume.publish({ 'policy.json': typeof next === 'string' ? next : JSON.stringify(next) });
    const rotateCertificate = async (): Promise<ServingPair> => {
      const pair = await issueServingPair(pki);
      await tlsVolume.publish({ 'tls.crt': pair.cert, 'tls.key': pair.key });
      return pair;
    };
    await publishPolicy(policy);
    const firstPair = await rotateCertificate();
    const files = { config: policyVolume.path('policy.json'), cert: tlsVolume.path('tls.crt'), key: tlsVolume.path('tls.key') };
    return await body({ dir, pki, files, policyVolume, tlsVolume, rotateCertificate, publishPolicy }, firstPair);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
