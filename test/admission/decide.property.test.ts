/**
 * Properties of the decision over random Pods and annotations built from
 * hostile pieces. MOUNTGATE_PROPERTY_RUNS raises the number of cases.
 */
import { expect } from 'chai';
import fc from 'fast-check';
import { decide } from '../../src/admission/decide.js';
import { denialMessage } from '../../src/admission/verdict.js';
import { policyOf } from '../helpers/policies.js';
import { ANNOTATION, requestFor } from '../helpers/pods.js';
import { mutateTwice } from '../helpers/reinvocation.js';

const RUNS = Number(process.env.MOUNTGATE_PROPERTY_RUNS ?? 300);
const POLICY = policyOf({ maxMounts: 4 });
const REQUESTABLE = [
  { prefix: ['srv', 'sandbox'], readOnly: false },
  { prefix: ['srv', 'models'], readOnly: true },
  { prefix: ['srv', 'models', 'scratch'], readOnly: false },
];

const SEGMENTS = ['srv', 'sandbox', 'sandbox2', 'models', 'scratch', 'skills', 'mnt', 'user-data', 'proc', 'a', '..', '.', '', 'ä', '\u2215', '\uff0f', '\u2024', '%2e%2e', '\u0000', '\u007f', '\n', ' '];
const segment = fc.oneof({ weight: 5, arbitrary: fc.constantFrom(...SEGMENTS) }, { weight: 1, arbitrary: fc.string({ maxLength: 4 }) });
const hostilePath = fc
  .tuple(fc.boolean(), fc.array(segment, { minLength: 0, maxLength: 5 }), fc.constantFrom('', '', '/', '//'))
  .map(([absolute, parts, tail]) => `${absolute ? '/' : ''}${parts.join('/')}${tail}`);
/** Paths that are often inside the allow-list, so that many Pods are admitted. */
const insidePath = fc
  .tuple(fc.constantFrom('/srv/sandbox', '/srv/models', '/srv/models/scratch'), fc.array(fc.constantFrom('a', 'b', 'c'), { maxLength: 2 }))
  .map(([prefix, rest]) => [prefix, ...rest].join('/'));
const likelyPath = fc.oneof(
  { weight: 4, arbitrary: insidePath },
  { weight: 1, arbitrary: fc.constantFrom('/srv/sandbox2', '/srv/sandbox2/a', '/srv', '/skills/x') },
  { weight: 1, arbitrary: hostilePath },
);
const mountTarget = fc.oneof({ weight: 1, arbitrary: hostilePath }, { weight: 3, arbitrary: fc.tuple(fc.constantFrom('/data', '/mnt', '/work', '/mnt/skills'), fc.constantFrom('', '/x', '/y')).map(([a, b]) => a + b) });

const entry = fc.record(
  {
    hostPath: likelyPath,
    host_path: likelyPath,
    mountPath: mountTarget,
    container_path: mountTarget,
    readOnly: fc.oneof(fc.boolean(), fc.constantFrom<unknown>('true', 1, null)),
    read_only: fc.boolean(),
    __proto__: fc.constant({ readOnly: false }),
  },
  { requiredKeys: [] },
);
/** Well-formed entries in either spelling, so that a good share of Pods is admitted. */
const plainEntry = fc.oneof(
  fc.record({ hostPath: likelyPath, mountPath: mountTarget, readOnly: fc.boolean() }, { requiredKeys: ['hostPath', 'mountPath'] }),
  fc.record({ host_path: likelyPath, container_path: mountTarget, read_only: fc.boolean() }, { requiredKeys: ['host_path', 'container_path'] }),
);
const annotation = fc.oneof(
  { weight: 8, arbitrary: fc.array(fc.oneof({ weight: 4, arbitrary: plainEntry }, { weight: 1, arbitrary: entry }), { maxLength: 4 }).map((entries) => JSON.stringify(entries)) },
  { weight: 1, arbitrary: fc.string() },
  { weight: 1, arbitrary: fc.jsonValue().map((value) => JSON.stringify(value)) },
);
const existingTarget = fc.oneof({ weight: 4, arbitrary: fc.constantFrom('/opt/tools', '/mnt/skills', '/data') }, { weight: 1, arbitrary: mountTarget });
const volumeMount = fc.record({ name: fc.constantFrom('skills', 'data', 'skills', 'data', 'mountgate-000000000000'), mountPath: existingTarget, readOnly: fc.option(fc.boolean(), { nil: undefined }) }, { requiredKeys: ['name', 'mountPath'] });
const container = fc.record({ name: fc.constantFrom('sandbox', 'sidecar', 'main'), image: fc.constant('img'), volumeMounts: fc.array(volumeMount, { maxLength: 2 }) }, { requiredKeys: ['name', 'image'] });
const volume = fc.record({ name: fc.constantFrom('skills', 'data'), hostPath: fc.record({ path: fc.oneof(likelyPath, fc.constantFrom('/skills', '/skills/x', '/.deer-flow/threads/t')), type: fc.constantFrom('Directory', 'DirectoryOrCreate') }) });
/** As the API server sends it: JSON, so no undefined values. */
const pod = fc.record({
  metadata: fc.record({ name: fc.constant('p'), annotations: fc.option(annotation.map((value) => ({ [ANNOTATION]: value })), { nil: undefined }) }, { requiredKeys: ['name'] }),
  spec: fc.record({ containers: fc.array(container, { minLength: 1, maxLength: 3 }), volumes: fc.array(volume, { maxLength: 3 }) }, { requiredKeys: ['containers'] }),
}).map((value) => JSON.parse(JSON.stringify(value)) as { metadata: { name: string; annotations?: Record<string, string> }; spec: unknown });

interface SpecView {
  volumes?: Array<{ name: string; hostPath?: { path: string } }>;
  containers: Array<{ volumeMounts?: Array<{ name: string; readOnly?: boolean }> }>;
}

/** Whole-segment coverage, written independently of the code under test. */
function decidingRequestable(path: string): { readOnly: boolean } | undefined {
  const segments = path.split('/').slice(1);
  let best: (typeof REQUESTABLE)[number] | undefined;
  for (const candidate of REQUESTABLE) {
    const covers = candidate.prefix.length <= segments.length && candidate.prefix.every((part, i) => segments[i] === part);
    if (covers && (best === undefined || candidate.prefix.length > best.prefix.length)) best = candidate;
  }
  return best;
}

function withoutAnnotation<T extends { metadata: { annotations?: unknown } }>(candidate: T): T {
  const copy = structuredClone(candidate);
  delete copy.metadata.annotations;
  return copy;
}

function isCanonical(path: string): boolean {
  return path.startsWith('/') && !path.endsWith('/') && !/[\u0000-\u001f\u007f]/.test(path) && path.split('/').slice(1).every((s) => s !== '' && s !== '.' && s !== '..');
}

describe('admission/decide: properties', function () {
  this.timeout(120_000);

  it('never throws, whatever the object', () => {
    fc.assert(
      fc.property(fc.oneof(pod, fc.anything()), fc.constantFrom('mutate' as const, 'validate' as const), (object, stage) => {
        const verdict = decide(stage, requestFor(object), POLICY);
        expect(verdict.allowed).to.be.a('boolean');
      }),
      { numRuns: RUNS },
    );
  });

  it('admits only canonical host paths inside the allow-list, with read-only honoured; validate agrees; mutating twice changes nothing', () => {
    let admittedWithMounts = 0;
    fc.assert(
      fc.property(pod, (candidate) => {
        const { verdict, pod: mutated } = mutateTwice(candidate, POLICY);
        if (!verdict.allowed || mutated === undefined) return;
        const spec = (mutated as { spec: SpecView }).spec;
        const injected = (spec.volumes ?? []).filter((v) => v.name.startsWith('mountgate-'));
        if (injected.length > 0) admittedWithMounts++;
        for (const volume of injected) {
          const path = volume.hostPath?.path ?? '';
          expect(isCanonical(path), `canonical: ${JSON.stringify(path)}`).to.equal(true);
          const entry = decidingRequestable(path);
          expect(entry, `inside the allow-list: ${path}`).to.not.equal(undefined);
          if (entry?.readOnly) {
            for (const c of spec.containers) {
              for (const m of c.volumeMounts ?? []) if (m.name === volume.name) expect(m.readOnly, `read-only: ${path}`).to.equal(true);
            }
          }
        }
        // What mutate adds never trips validate: the verdict is the one the Pod's own volumes earn without the annotation.
        const validation = decide('validate', requestFor(mutated), POLICY);
        const own = decide('validate', requestFor(withoutAnnotation(candidate)), POLICY);
        expect(validation.allowed, validation.allowed ? '' : denialMessage(validation.violations)).to.equal(own.allowed);
      }),
      { numRuns: RUNS },
    );
    // Guards against a generator that never produces an admitted Pod, which would make the property vacuous.
    expect(admittedWithMounts).to.be.greaterThan(RUNS / 50);
  });
});
