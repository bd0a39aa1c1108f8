/** fast-check generators of hostile paths, annotations and Pods. */
import fc from 'fast-check';
import { ANNOTATION } from './pods.js';

const SEGMENTS = ['srv', 'sandbox', 'sandbox2', 'models', 'scratch', 'skills', 'mnt', 'user-data', 'proc', 'a', '..', '.', '', 'ä', '\u2215', '\uff0f', '\u2024', '%2e%2e', '\u0000', '\u007f', '\n', ' ', 'x\\..\\..', '\\'];
const segment = fc.oneof({ weight: 5, arbitrary: fc.constantFrom(...SEGMENTS) }, { weight: 1, arbitrary: fc.string({ maxLength: 4 }) });
export const hostilePath = fc
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
  { weight: 8, arbitrary: fc.array(fc.oneof({ weight: 12, arbitrary: plainEntry }, { weight: 1, arbitrary: entry }), { maxLength: 4 }).map((entries) => JSON.stringify(entries)) },
  { weight: 1, arbitrary: fc.string() },
  { weight: 1, arbitrary: fc.jsonValue().map((value) => JSON.stringify(value)) },
);
const existingTarget = fc.oneof({ weight: 4, arbitrary: fc.constantFrom('/opt/tools', '/mnt/skills', '/data') }, { weight: 1, arbitrary: mountTarget });
const volumeMount = fc.record({ name: fc.oneof({ weight: 12, arbitrary: fc.constantFrom('skills', 'data') }, { weight: 1, arbitrary: fc.constant('mountgate-000000000000') }), mountPath: existingTarget, readOnly: fc.option(fc.boolean(), { nil: undefined }) }, { requiredKeys: ['name', 'mountPath'] });
const container = fc.record({ name: fc.constantFrom('sandbox', 'sidecar', 'main'), image: fc.constant('img'), volumeMounts: fc.array(volumeMount, { maxLength: 2 }) }, { requiredKeys: ['name', 'image'] });
const volume = fc.record({ name: fc.constantFrom('skills', 'data'), hostPath: fc.record({ path: fc.oneof(likelyPath, fc.constantFrom('/skills', '/skills/x', '/.deer-flow/threads/t')), type: fc.constantFrom('Directory', 'DirectoryOrCreate') }) });
/** As the API server sends it: JSON, so no undefined values. */
export const pod = fc.record({
  metadata: fc.record({ name: fc.constant('p'), annotations: fc.option(annotation.map((value) => ({ [ANNOTATION]: value })), { nil: undefined, freq: 6 }) }, { requiredKeys: ['name'] }),
  spec: fc.record({ containers: fc.array(container, { minLength: 1, maxLength: 3 }), volumes: fc.array(volume, { maxLength: 3 }) }, { requiredKeys: ['containers'] }),
}).map((value) => JSON.parse(JSON.stringify(value)) as { metadata: { name: string; annotations?: Record<string, string> }; spec: unknown });


/** Pods whose requests are mostly well-formed and inside the allow-list: the admitted side of the properties. */
export const likelyAdmittedPod = fc
  .record({
    mounts: fc.array(
      fc.record({
        hostPath: fc.oneof({ weight: 6, arbitrary: insidePath }, { weight: 1, arbitrary: hostilePath }),
        mountPath: fc.tuple(fc.constantFrom('/data', '/work', '/mnt', '/models'), fc.constantFrom('', '/x', '/y', '/')).map(([a, b]) => a + b),
        readOnly: fc.boolean(),
      }, { requiredKeys: ['hostPath', 'mountPath'] }),
      { minLength: 1, maxLength: 4 },
    ),
    containers: fc.array(container, { minLength: 1, maxLength: 3 }),
    volumes: fc.array(volume, { maxLength: 2 }),
  })
  .map(({ mounts, containers, volumes }) =>
    JSON.parse(JSON.stringify({ metadata: { name: 'p', annotations: { [ANNOTATION]: JSON.stringify(mounts) } }, spec: { containers, volumes } })) as {
      metadata: { name: string; annotations?: Record<string, string> };
      spec: unknown;
    },
  );
