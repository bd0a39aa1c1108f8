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
