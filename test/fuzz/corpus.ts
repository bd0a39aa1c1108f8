/**
 * The fuzz corpus: JSON files under corpus/, each a description and named
 * cases. An annotation case is a request written into a sandbox Pod's
 * annotation (a list is JSON-encoded, a string is used as written, so keys
 * like __proto__ survive); a Pod case is a whole object, given as JSON or as
 * a JSON string (podJson) when it must carry __proto__ as an own key.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Stage } from '../../src/admission/decide.js';
import type { RequestOptions } from '../helpers/pods.js';

export type Expectation = 'allowed' | 'denied';

interface CommonCase {
  readonly file: string;
  readonly name: string;
  /** Merged over the test policy (BASE_POLICY). */
  readonly policy?: Readonly<Record<string, unknown>>;
  readonly request?: RequestOptions;
}

export interface AnnotationCase extends CommonCase {
  readonly kind: 'annotation';
  readonly annotation: unknown[] | string;
  /** The /mutate verdict, when the case pins one. */
  readonly expect?: Expectation;
  readonly containers?: unknown[];
  readonly volumes?: unknown[];
}

export interface PodCase extends CommonCase {
  readonly kind: 'pod';
  readonly pod: unknown;
  readonly stages: Partial<Record<Stage, Expectation>>;
}

export type CorpusCase = AnnotationCase | PodCase;

export const CORPUS_DIR = join(process.cwd(), 'test/fuzz/corpus');

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function expectation(value: unknown, where: string): Expectation | undefined {
  if (value === undefined) return undefined;
  if (value === 'allowed' || value === 'denied') return value;
  throw new Error(`${where}: expect must be "allowed" or "denied"`);
}

function readCase(raw: unknown, file: string): CorpusCase {
  if (!isRecord(raw) || typeof raw.name !== 'string') throw new Error(`${file}: every case needs a name`);
  const where = `${file}: ${raw.name}`;
  const common = {
    file,
    name: raw.name,
    ...(isRecord(raw.policy) ? { policy: raw.policy } : {}),
    ...(isRecord(raw.request) ? { request: raw.request as RequestOptions } : {}),
  };
  if ('annotation' in raw) {
    const annotation = raw.annotation;
    if (typeof annotation !== 'string' && !Array.isArray(annotation)) throw new Error(`${where}: annotation must be a list or a string`);
    const expect = expectation(raw.expect, where);
    return {
      ...common,
      kind: 'annotation',
      annotation,
      ...(expect === undefined ? {} : { expect }),
      ...(Array.isArray(raw.containers) ? { containers: raw.containers } : {}),
      ...(Array.isArray(raw.volumes) ? { volumes: raw.volumes } : {}),
    };
  }
  if (!isRecord(raw.stages)) throw new Error(`${where}: a Pod case needs stages`);
  const stages: Partial<Record<Stage, Expectation>> = {};
  for (const stage of ['mutate', 'validate'] as const) {
    const expected = expectation(raw.stages[stage], where);
    if (expected !== undefined) stages[stage] = expected;
  }
  const pod: unknown = typeof raw.podJson === 'string' ? JSON.parse(raw.podJson) : raw.pod;
  if (!('pod' in raw) && typeof raw.podJson !== 'string') throw new Error(`${where}: a Pod case needs pod or podJson`);
  return { ...common, kind: 'pod', pod, stages };
}

export function loadCorpus(): CorpusCase[] {
  const cases: CorpusCase[] = [];
  for (const file of readdirSync(CORPUS_DIR).filter((name) => name.endsWith('.json')).sort()) {
    const parsed: unknown = JSON.parse(readFileSync(join(CORPUS_DIR, file), 'utf8'));
    if (!isRecord(parsed) || !Array.isArray(parsed.cases)) throw new Error(`${file}: expected {"description", "cases": [...]}`);
    for (const raw of parsed.cases) cases.push(readCase(raw, file));
  }
  return cases;
}
