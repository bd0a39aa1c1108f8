/**
 * The kubelet writes into a host path before it mounts it, as root and whatever the mount's readOnly
 * says: it creates a missing DirectoryOrCreate or FileOrCreate path, and a missing subPath (or
 * expanded subPathExpr) inside the volume. In a read-only host path /validate refuses both (rule
 * host-path-volume-creates). Whole messages; the control rows are admitted.
 */
import { expect } from 'chai';
import { decide } from '../../src/admission/decide.js';
import { applyPatch } from '../../src/admission/json-patch.js';
import { denialMessage } from '../../src/admission/verdict.js';
import type { CompiledPolicy } from '../../src/policy/compile.js';
import { layeredPolicy } from '../../src/policy/layers.js';
import { compileMountPolicy } from '../../src/policy/mount-policy.js';
import { BASE_POLICY, mountPolicy, policyOf } from '../helpers/policies.js';
import { expectedVolumeName, requestFor, sandboxPod } from '../helpers/pods.js';

const DEFAULT = policyOf();
const BUILTIN = policyOf({ handWrittenHostPaths: 'builtin' });
// A read-write tree that holds a read-only entry.
const HOLDING = policyOf({ allowedHostPaths: [...BASE_POLICY.allowedHostPaths, { pathPrefix: '/srv/sandbox/shared', readOnly: true }] });

type Mount = Record<string, unknown>;

/** The sandbox with the built-in skills volume and one more hostPath volume "own", mounted as `mount` says. */
function podWith(path: string, type: string, mount: Mount = { readOnly: true }, list: 'containers' | 'initContainers' = 'containers'): Record<string, unknown> {
  const own = { name: 'own', mountPath: '/mnt/own', ...mount };
  const skills = { name: 'skills', mountPath: '/mnt/skills', readOnly: true };
  return sandboxPod({
    volumes: [
      { name: 'skills', hostPath: { path: '/skills', type: 'Directory' } },
      { name: 'own', hostPath: { path, type } },
    ],
    containers: [{ name: 'sandbox', image: 'sandbox:1', volumeMounts: list === 'containers' ? [skills, own] : [skills] }],
    ...(list === 'initContainers' ? { initContainers: [{ name: 'init', image: 'init:1', volumeMounts: [own] }] } : {}),
  });
}

interface Row {
  readonly name: string;
  readonly pod: Record<string, unknown>;
  readonly policy?: CompiledPolicy;
  /** The whole denial message, or undefined when the Pod is admitted. */
  readonly denied: string | undefined;
}

const subPathDenial = (field: string, container: string, path: string, key: string, value: string, readOnly: string): string =>
  `${field}.${key}: container "${container}" mounts "${path}" with ${key} ${JSON.stringify(value)}, which the kubelet creates when it is missing, ` +
  `but ${readOnly} is read-only; mount the subdirectory as a hostPath volume of its own`;

const ROWS: readonly Row[] = [
  {
    name: 'DirectoryOrCreate in a read-only allowed path',
    pod: podWith('/srv/models/planted/a/b', 'DirectoryOrCreate'),
    denied: 'spec.volumes[1].hostPath.type: "DirectoryOrCreate" has the kubelet create "/srv/models/planted/a/b" when it is missing, but "/srv/models" is read-only; use Directory',
  },
  {
    name: 'FileOrCreate in a read-only allowed path',
    pod: podWith('/srv/models/evil.py', 'FileOrCreate'),
    denied: 'spec.volumes[1].hostPath.type: "FileOrCreate" has the kubelet create "/srv/models/evil.py" when it is missing, but "/srv/models" is read-only; use File',
  },
  {
    name: 'DirectoryOrCreate in a read-only built-in path, under handWrittenHostPaths: builtin',
    pod: podWith('/skills/new-skill', 'DirectoryOrCreate'),
    policy: BUILTIN,
    denied: 'spec.volumes[1].hostPath.type: "DirectoryOrCreate" has the kubelet create "/skills/new-skill" when it is missing, but "/skills" is read-only; use Directory',
  },
  { name: 'control: Directory in a read-only path', pod: podWith('/srv/models/llama', 'Directory'), denied: undefined },
  {
    name: 'no type in a read-only path: the container runtime creates a missing one',
    pod: podWith('/srv/models/llama', ''),
    denied: 'spec.volumes[1].hostPath.type: is not set, so the container runtime creates "/srv/models/llama" when it is missing, but "/srv/models" is read-only; use Directory',
  },
  ...['File', 'Socket', 'CharDevice', 'BlockDevice'].map((type): Row => ({ name: `control: ${type} in a read-only path creates nothing`, pod: podWith('/srv/models/x', type), denied: undefined })),
  { name: 'control: DirectoryOrCreate in a read-write path', pod: podWith('/srv/models/scratch/x', 'DirectoryOrCreate', { readOnly: false }), denied: undefined },
  {
    name: 'control: DirectoryOrCreate of a read-write path that holds a read-only entry (creates nothing inside it)',
    pod: podWith('/srv/sandbox', 'DirectoryOrCreate'),
    policy: HOLDING,
    denied: undefined,
  },
  {
    name: 'a subPath on a read-only mount of a read-only path',
    pod: podWith('/srv/models', 'Directory', { readOnly: true, subPath: 'x/y/z' }),
    denied: subPathDenial('spec.containers[0].volumeMounts[1]', 'sandbox', '/srv/models', 'subPath', 'x/y/z', '"/srv/models"'),
  },
  {
    name: 'a subPathExpr on a read-only mount of a read-only path',
    pod: podWith('/srv/models', 'Directory', { readOnly: true, subPathExpr: 'pods/$(POD_NAME)' }),
    denied: subPathDenial('spec.containers[0].volumeMounts[1]', 'sandbox', '/srv/models', 'subPathExpr', 'pods/$(POD_NAME)', '"/srv/models"'),
  },
  {
    name: 'a subPath into the read-only entry below a read-write path',
    pod: podWith('/srv/sandbox', 'Directory', { readOnly: true, subPath: 'shared/planted' }),
    policy: HOLDING,
    denied: subPathDenial('spec.containers[0].volumeMounts[1]', 'sandbox', '/srv/sandbox', 'subPath', 'shared/planted', '"/srv/sandbox/shared" inside it'),
  },
  {
    name: 'a subPath in an init container',
    pod: podWith('/srv/models', 'Directory', { readOnly: true, subPath: 'x' }, 'initContainers'),
    denied: subPathDenial('spec.initContainers[0].volumeMounts[0]', 'init', '/srv/models', 'subPath', 'x', '"/srv/models"'),
  },
  {
    name: "a read-write mount with a subPath of a DirectoryOrCreate volume breaks three rules, named in the backstop's order",
    pod: podWith('/srv/models', 'DirectoryOrCreate', { subPath: 'x' }),
    denied: [
      'spec.containers[0].volumeMounts[1]: container "sandbox" mounts "/srv/models" read-write, but "/srv/models" is read-only',
      'spec.volumes[1].hostPath.type: "DirectoryOrCreate" has the kubelet create "/srv/models" when it is missing, but "/srv/models" is read-only; use Directory',
      subPathDenial('spec.containers[0].volumeMounts[1]', 'sandbox', '/srv/models', 'subPath', 'x', '"/srv/models"'),
    ].join('; '),
  },
  {
    name: 'a volume outside the lists is named before an earlier one of a creating type',
    pod: sandboxPod({
      volumes: [
        { name: 'new', hostPath: { path: '/srv/models/new', type: 'DirectoryOrCreate' } },
        { name: 'etc', hostPath: { path: '/etc', type: 'Directory' } },
      ],
      containers: [{ name: 'sandbox', image: 'sandbox:1', volumeMounts: [{ name: 'new', mountPath: '/a', readOnly: true }, { name: 'etc', mountPath: '/b', readOnly: true }] }],
    }),
    denied: [
      'spec.volumes[1].hostPath.path: "/etc" is not under any allowed or built-in host path',
      'spec.volumes[0].hostPath.type: "DirectoryOrCreate" has the kubelet create "/srv/models/new" when it is missing, but "/srv/models" is read-only; use Directory',
    ].join('; '),
  },
  {
    name: 'a MountPolicy that makes the path read-only, beside a read-only cluster entry below it',
    pod: podWith('/srv/tenants/team-a/ref/new', 'DirectoryOrCreate'),
    policy: layeredPolicy(policyOf({ allowedHostPaths: [{ pathPrefix: '/srv/tenants' }, { pathPrefix: '/srv/tenants/team-a/ref/new/frozen', readOnly: true }] }), {
      known: true,
      policies: [compileMountPolicy(mountPolicy({ allowedHostPaths: [{ pathPrefix: '/skills' }, { pathPrefix: '/srv/tenants/team-a' }, { pathPrefix: '/srv/tenants/team-a/ref', readOnly: true }] }))],
    }),
    denied:
      'spec.volumes[1].hostPath.type: "DirectoryOrCreate" has the kubelet create "/srv/tenants/team-a/ref/new" when it is missing, but "/srv/tenants/team-a/ref" of MountPolicy team-a/tenant is read-only; use Directory',
  },
  {
    name: 'a read-only built-in over a path that also holds a read-only entry below it (handWrittenHostPaths: builtin)',
    pod: podWith('/data/work', 'DirectoryOrCreate'),
    policy: policyOf({
      allowedHostPaths: [{ pathPrefix: '/data/work' }, { pathPrefix: '/data/work/frozen', readOnly: true }],
      builtinHostPaths: [{ pathPrefix: '/skills', readOnly: true }, { pathPrefix: '/data', readOnly: true }],
      handWrittenHostPaths: 'builtin',
    }),
    denied: 'spec.volumes[1].hostPath.type: "DirectoryOrCreate" has the kubelet create "/data/work" when it is missing, but "/data" is read-only; use Directory',
  },
  { name: 'control: an empty subPath', pod: podWith('/srv/models', 'Directory', { readOnly: true, subPath: '' }), denied: undefined },
  { name: 'control: a subPath in a read-write path', pod: podWith('/srv/models/scratch', 'Directory', { readOnly: false, subPath: 'x' }), denied: undefined },
];

describe('admission: the kubelet creates nothing in a read-only host path', () => {
  for (const row of ROWS) {
    it(row.name, () => {
      const verdict = decide('validate', requestFor(row.pod), row.policy ?? DEFAULT);
      if (row.denied === undefined) {
        expect(verdict.allowed, verdict.allowed ? '' : denialMessage(verdict.violations)).to.equal(true);
        return;
      }
      if (verdict.allowed) throw new Error('expected a denial');
      expect(verdict.violations.map((v) => v.rule)).to.satisfy((rules: string[]) => rules.includes('host-path-volume-creates'));
      expect(denialMessage(verdict.violations)).to.equal(`mountgate denied the Pod: ${row.denied}`);
    });
  }

  it("a subPath on a mount of a volume the annotation brought in, in an init container: refused", () => {
    const asked = sandboxPod({ mounts: [{ hostPath: '/srv/models/llama', mountPath: '/mnt/models' }] });
    const mutated = decide('mutate', requestFor(asked), DEFAULT);
    if (!mutated.allowed) throw new Error(`mutate denied: ${denialMessage(mutated.violations)}`);
    const pod = applyPatch(structuredClone(asked), structuredClone([...mutated.patch]), true, false).newDocument as { spec: Record<string, unknown> };
    const name = expectedVolumeName('/srv/models/llama');
    pod.spec.initContainers = [{ name: 'init', image: 'init:1', volumeMounts: [{ name, mountPath: '/m', readOnly: true, subPath: 'planted' }] }];
    const verdict = decide('validate', requestFor(pod), DEFAULT);
    if (verdict.allowed) throw new Error('expected a denial');
    expect(denialMessage(verdict.violations)).to.equal(
      `mountgate denied the Pod: ${subPathDenial('spec.initContainers[0].volumeMounts[0]', 'init', '/srv/models/llama', 'subPath', 'planted', '"/srv/models"')}`,
    );
  });

  it('is judged at creation only: kubectl debug on a Pod created before the rule is not refused for it', () => {
    const created = podWith('/srv/models', 'DirectoryOrCreate', { readOnly: true, subPath: 'x' });
    const spec = created.spec as Record<string, unknown>;
    const debugged = { ...created, spec: { ...spec, ephemeralContainers: [{ name: 'debug', image: 'busybox', volumeMounts: [{ name: 'own', mountPath: '/own', readOnly: true }] }] } };
    const verdict = decide('validate', requestFor(debugged, { operation: 'UPDATE', subResource: 'ephemeralcontainers', oldObject: created }), DEFAULT);
    expect(verdict.allowed, verdict.allowed ? '' : denialMessage(verdict.violations)).to.equal(true);
    expect(decide('validate', requestFor(created), DEFAULT).allowed, 'the same Pod at creation').to.equal(false);
  });

  it("under hostPathType: DirectoryOrCreate a mountgate- volume of another creating type is still refused", () => {
    const policy = policyOf({ hostPathType: 'DirectoryOrCreate' });
    const name = expectedVolumeName('/srv/models/llama');
    const pod = sandboxPod({
      volumes: [{ name: 'skills', hostPath: { path: '/skills', type: 'Directory' } }, { name, hostPath: { path: '/srv/models/llama' } }],
      containers: [{ name: 'sandbox', image: 'sandbox:1', volumeMounts: [{ name: 'skills', mountPath: '/mnt/skills', readOnly: true }, { name, mountPath: '/m', readOnly: true }] }],
    });
    const verdict = decide('validate', requestFor(pod), policy);
    if (verdict.allowed) throw new Error('expected a denial');
    expect(verdict.violations.map((v) => `${v.rule} ${v.field}`)).to.include('host-path-volume-creates spec.volumes[1].hostPath.type');
  });

  it("mountgate's own volume keeps the policy's hostPathType: DirectoryOrCreate for a read-only request is admitted", () => {
    const policy = policyOf({ hostPathType: 'DirectoryOrCreate' });
    const asked = sandboxPod({ mounts: [{ hostPath: '/srv/models/llama', mountPath: '/mnt/models' }] });
    const mutated = decide('mutate', requestFor(asked), policy);
    if (!mutated.allowed) throw new Error(`mutate denied: ${denialMessage(mutated.violations)}`);
    const pod = applyPatch(structuredClone(asked), structuredClone([...mutated.patch]), true, false).newDocument;
    expect(JSON.stringify(pod)).to.contain('"type":"DirectoryOrCreate"');
    const verdict = decide('validate', requestFor(pod), policy);
    expect(verdict.allowed, verdict.allowed ? '' : denialMessage(verdict.violations)).to.equal(true);
  });
});
