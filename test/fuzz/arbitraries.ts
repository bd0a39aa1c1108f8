/**
 * Generators on top of the shared ones in test/helpers/arbitraries.ts:
 * annotations written as raw JSON text, so that keys such as __proto__ stay
 * own keys, and paths that sit right at the edges of the test policy.
 */
import fc from 'fast-check';
import { hostilePath } from '../helpers/arbitraries.js';
import { ANNOTATION } from '../helpers/pods.js';

const EDGE_PREFIXES = ['/srv/sandbox', '/srv/models', '/srv/models/scratch', '/skills', '/srv', '/srv/sandbox2', '/proc', '/mnt/skills', ''];
const EDGE_TAILS = ['', '/', '//', '/a', '/..', '/.', '/../etc', '/\u2215..', '/\uff0f', '\u2215..', '\uff0e\uff0e', '/\u2024\u2024', '%2f..', '/%2e%2e', '\u0000', '/a\u0000', '\u200b', '/a/b'];

/** A path near an edge of the policy: a prefix, then something that may or may not be a segment boundary. */
export const edgePath = fc.tuple(fc.constantFrom(...EDGE_PREFIXES), fc.constantFrom(...EDGE_TAILS)).map(([prefix, tail]) => prefix + tail);
const anyPath = fc.oneof({ weight: 3, arbitrary: edgePath }, { weight: 1, arbitrary: hostilePath });

const KEYS = ['"hostPath"', '"host_path"', '"mountPath"', '"container_path"', '"readOnly"', '"read_only"', '"__proto__"', '"constructor"', '"prototype"', '"toString"', '"hostPath\\u0000"'];
const value = fc.oneof(
  { weight: 6, arbitrary: anyPath.map((path) => JSON.stringify(path)) },
  { weight: 2, arbitrary: fc.constantFrom('true', 'false', 'null', '"true"', '1', '{}', '[]') },
  { weight: 1, arbitrary: fc.constantFrom('{"readOnly":false}', '{"hostPath":"/etc"}', '{"prototype":{"readOnly":false}}') },
);
/** One entry as raw JSON text: keys may repeat (JSON.parse keeps the last) and include prototype keys. */
const rawEntry = fc.array(fc.tuple(fc.constantFrom(...KEYS), value), { minLength: 0, maxLength: 5 }).map((pairs) => `{${pairs.map(([key, text]) => `${key}:${text}`).join(',')}}`);
/** A well-formed entry near the edges, so that a good share of annotations is admitted. */
const edgeEntry = fc
  .record({ hostPath: anyPath, mountPath: fc.oneof(edgePath, fc.constantFrom('/work', '/data/x', '/mnt')), readOnly: fc.option(fc.boolean(), { nil: undefined }) })
  .map((entry) => JSON.stringify(entry));

export const rawAnnotation = fc
  .array(fc.oneof({ weight: 3, arbitrary: edgeEntry }, { weight: 1, arbitrary: rawEntry }), { maxLength: 4 })
  .map((entries) => `[${entries.join(',')}]`);

/** A sandbox Pod carrying a raw annotation, and sometimes a hand-written hostPath volume near an edge. */
export const rawAnnotatedPod = fc
  .record({
    annotation: rawAnnotation,
    ownVolume: fc.option(fc.record({ path: anyPath, readOnlyMount: fc.boolean() }), { nil: undefined }),
  })
  .map(({ annotation, ownVolume }) => ({
    metadata: { name: 'p', annotations: { [ANNOTATION]: annotation } },
    spec: {
      containers: [
        {
          name: 'sandbox',
          image: 'x',
          volumeMounts: ownVolume === undefined ? [] : [{ name: 'own', mountPath: '/own', readOnly: ownVolume.readOnlyMount }],
        },
      ],
      volumes: ownVolume === undefined ? [] : [{ name: 'own', hostPath: { path: ownVolume.path } }],
    },
  }));

/**
 * Mount paths that often lie inside one another, over /etc and its node files or /dev and the default
 * termination message file, or at /; written as they are, or with "/" at the end, "//" or relative, which
 * the kubelet still mounts where it cleans them to.
 */
const spelled = fc.constantFrom((path: string) => path, (path: string) => path, (path: string) => `${path}/`, (path: string) => `/${path}`, (path: string) => path.slice(1));
const place = fc.constantFrom('/m', '/m', '/m/x', '/m/scratch', '/m/frozen', '/m/frozen/x', '/m/x/hosts', '/etc', '/etc/hosts', '/dev', '/dev/termination-log', '/');
const nestedPath = fc.tuple(place, spelled).map(([path, written]) => written(path));
/** Read-only and read-write host paths, and read-write ones that hold a read-only entry (see NESTING_ENTRIES). */
const nestedHostPath = fc.constantFrom('/srv/models', '/srv/models/llama', '/srv/models/scratch', '/skills', '/srv/sandbox', '/srv/work', '/srv/work/frozen');
// Half of them of the emptyDir, so that read-only host mounts often lie inside or on top of one that is not; all
// read-only, so that no Pod is refused for a read-write mount of a read-only path instead.
const mountAt = fc.tuple(fc.constantFrom('h0', 'h1', 'e', 'e'), spelled).map(([name, written]) => (path: string) => ({ name, mountPath: written(path), readOnly: true }));
/** One mount, or two stacked at one place ("/m" and "/m/", which the API server lets through). */
const nestedMounts = fc
  .tuple(place, fc.oneof({ weight: 2, arbitrary: fc.array(mountAt, { minLength: 1, maxLength: 1 }) }, { weight: 1, arbitrary: fc.array(mountAt, { minLength: 2, maxLength: 2 }) }))
  .map(([path, mounts]) => ({ path, mounts: mounts.map((mount) => mount(path)) }));
const nestedContainer = fc.record({
  name: fc.constantFrom('sandbox', 'sidecar'),
  image: fc.constant('img'),
  // Mostly listed outermost first (a place never lies inside a shorter one), so that an outer mount that is not
  // read-only often comes before a read-only one inside it: only the closest mount around a mount point counts.
  volumeMounts: fc
    .tuple(fc.array(nestedMounts, { minLength: 1, maxLength: 3 }), fc.constantFrom(true, true, false))
    .map(([groups, outerFirst]) => (outerFirst ? [...groups].sort((a, b) => a.path.length - b.path.length) : groups).flatMap((group) => group.mounts)),
  // Mostly left to the default /dev/termination-log, which the API server writes in.
  terminationMessagePath: fc.oneof({ weight: 2, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: nestedPath }),
  workingDir: fc.option(nestedPath, { nil: undefined, freq: 2 }),
  volumeDevices: fc.option(fc.array(nestedPath.map((devicePath) => ({ name: 'disk', devicePath })), { minLength: 1, maxLength: 2 }), { nil: undefined, freq: 3 }),
});
const nestedRequest = fc.record({ hostPath: fc.constantFrom('/srv/models/llama', '/srv/models/scratch', '/srv/sandbox/u1', '/srv/work'), mountPath: nestedPath, readOnly: fc.boolean() });

/** The read-write tree /srv/work holding the read-only /srv/work/frozen, which nestedPod mounts from; other generators never reach it. */
export const NESTING_ENTRIES = [{ pathPrefix: '/srv/work' }, { pathPrefix: '/srv/work/frozen', readOnly: true }];

/** Pods whose mounts, termination message files and working directories lie inside their own hostPath mounts. */
export const nestedPod = fc
  .record({
    paths: fc.tuple(nestedHostPath, nestedHostPath),
    containers: fc.array(nestedContainer, { minLength: 1, maxLength: 2 }),
    // Mostly none: /validate refuses a Pod whose annotation asks for mounts it does not carry.
    requests: fc.oneof({ weight: 2, arbitrary: fc.constant(undefined) }, { weight: 1, arbitrary: fc.array(nestedRequest, { minLength: 1, maxLength: 2 }) }),
  })
  .map(({ paths, containers, requests }): unknown =>
    // As the API server sends it: JSON, so no undefined values.
    JSON.parse(
      JSON.stringify({
        metadata: { name: 'p', ...(requests === undefined ? {} : { annotations: { [ANNOTATION]: JSON.stringify(requests) } }) },
        spec: {
          containers,
          volumes: [...paths.map((path, index) => ({ name: `h${index}`, hostPath: { path, type: 'Directory' } })), { name: 'e', emptyDir: {} }],
        },
      }),
    ),
  );

/**
 * Pods mounting hostPath volumes with a subPath or subPathExpr, which the kubelet makes inside the volume when it
 * is missing: of read-only host paths, of read-write ones that hold a read-only entry (/srv/work, see
 * NESTING_ENTRIES) and of read-write ones that do not. Mount paths never nest and all mounts are read-only, so a
 * subPath is the only thing that can refuse most of these Pods.
 */
export const subPathPod = fc
  .record({
    paths: fc.tuple(fc.constantFrom('/srv/models', '/srv/models/llama', '/skills', '/srv/work', '/srv/work/frozen'), fc.constantFrom('/srv/sandbox', '/srv/models/scratch', '/srv/work', '/srv/models')),
    mounts: fc.array(
      fc.record({
        name: fc.constantFrom('h0', 'h1'),
        key: fc.constantFrom('subPath', 'subPathExpr'),
        value: fc.constantFrom('x', 'x/y', '$(POD_NAME)', ''),
      }),
      { minLength: 1, maxLength: 3 },
    ),
  })
  .map(({ paths, mounts }): unknown => ({
    metadata: { name: 'p' },
    spec: {
      containers: [{ name: 'sandbox', image: 'img', volumeMounts: mounts.map(({ name, key, value }, index) => ({ name, mountPath: `/v${index}`, readOnly: true, [key]: value })) }],
      volumes: paths.map((path, index) => ({ name: `h${index}`, hostPath: { path, type: 'Directory' } })),
    },
  }));

/**
 * Sandbox Pods asking for allowed host paths at targets in or beside the system paths (/proc, /sys, /dev) and
 * the test policy's reserved ones, so that a target is what refuses them, or, beside one, what does not.
 */
export const targetedPod = fc
  .array(
    fc.record({
      hostPath: fc.constantFrom('/srv/sandbox/a', '/srv/models/a'),
      mountPath: fc
        .tuple(fc.constantFrom('/proc', '/sys', '/dev', '/mnt/skills', '/mnt/user-data', '/procs', '/system', '/devices', '/mnt/skills2', '/mnt/user'), fc.constantFrom('', '', '/x', '/x/y', '/'))
        .map(([prefix, tail]) => prefix + tail),
      readOnly: fc.constant(true),
    }),
    { minLength: 1, maxLength: 2 },
  )
  .map((requests): unknown => ({
    metadata: { name: 'p', annotations: { [ANNOTATION]: JSON.stringify(requests) } },
    spec: { containers: [{ name: 'sandbox', image: 'img' }] },
  }));
