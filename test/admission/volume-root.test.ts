import { expect } from 'chai';
import { decide } from '../../src/admission/decide.js';
import { denialMessage } from '../../src/admission/verdict.js';
import type { CompiledPolicy } from '../../src/policy/compile.js';
import { describeViolation } from '../../src/admission/violation.js';
import { layeredPolicy } from '../../src/policy/layers.js';
import { compileMountPolicy } from '../../src/policy/mount-policy.js';
import { mountPolicy, policyOf } from '../helpers/policies.js';
import { expectedVolumeName, requestFor, sandboxPod, type PodOptions } from '../helpers/pods.js';
import { mutateTwice } from '../helpers/reinvocation.js';

/** Per-namespace read-write trees, a read-only entry below a read-write one, a read-write one inside a read-only one, a pattern, one inside a built-in. */
const ENTRIES = [
  { pathPrefix: '/srv/tenants/{namespace}' },
  { pathPrefix: '/srv/shared' },
  { pathPrefix: '/srv/shared/reference', readOnly: true },
  { pathPrefix: '/srv/models', readOnly: true },
  { pathPrefix: '/srv/models/scratch' },
  { pathPrefix: '/srv/data/*/out' },
  // Inside the read-write built-in /.deer-flow/threads of BASE_POLICY, which only a Pod's own volumes may name.
  { pathPrefix: '/.deer-flow/threads/t1' },
];
const ROOTED = policyOf({ allowedHostPaths: ENTRIES, volumeRoot: 'writableAncestor', maxMounts: 10 });
const REQUESTED = policyOf({ allowedHostPaths: ENTRIES, maxMounts: 10 });

interface Injected {
  volumes: unknown[];
  mounts: unknown[];
}

/** mountgate's volumes and the sandbox container's mounts of them, after mutating twice (the second pass must change nothing). */
function injected(options: PodOptions, policy: CompiledPolicy = ROOTED): Injected {
  const { verdict, pod } = mutateTwice(sandboxPod(options), policy);
  if (!verdict.allowed) throw new Error(`expected allowed, got ${denialMessage(verdict.violations)}`);
  const spec = (pod as { spec: { volumes: Array<{ name: string }>; containers: Array<{ volumeMounts: Array<{ name: string }> }> } }).spec;
  return {
    volumes: spec.volumes.filter((v) => v.name.startsWith('mountgate-')),
    mounts: spec.containers.flatMap((c) => c.volumeMounts.filter((m) => m.name.startsWith('mountgate-'))),
  };
}

const volume = (path: string, type: string) => ({ name: expectedVolumeName(path), hostPath: { path, type } });
function mount(root: string, mountPath: string, subPath: string | undefined, readOnly: boolean): Record<string, unknown> {
  return {
    name: expectedVolumeName(root),
    mountPath,
    ...(subPath === undefined ? {} : { subPath }),
    ...(readOnly ? { readOnly: true, recursiveReadOnly: 'IfPossible' } : {}),
  };
}

describe('admission: volumeRoot: writableAncestor', () => {
  describe('where each request is rooted', () => {
    // readOnly: what the request says; mountedReadOnly: what the mount is (a request that says nothing under a read-only entry is read-only).
    const rows: Array<{ name: string; hostPath: string; readOnly?: boolean; mountedReadOnly?: boolean; root: string; subPath?: string }> = [
      {
        name: 'below a per-namespace tree: at the tree, the rest a subPath',
        hostPath: '/srv/tenants/agents/projects/p1',
        root: '/srv/tenants/agents',
        subPath: 'projects/p1',
      },
      { name: 'the tree itself: at the path, no subPath', hostPath: '/srv/tenants/agents', root: '/srv/tenants/agents' },
      {
        name: 'read-only below a read-write tree: at the tree, mounted read-only',
        hostPath: '/srv/tenants/agents/reference',
        readOnly: true,
        root: '/srv/tenants/agents',
        subPath: 'reference',
      },
      { name: 'under a read-only entry with nothing writable above: at the path', hostPath: '/srv/models/llama', mountedReadOnly: true, root: '/srv/models/llama' },
      {
        name: 'inside a read-write entry inside a read-only one: at the read-write entry',
        hostPath: '/srv/models/scratch/run-1',
        root: '/srv/models/scratch',
        subPath: 'run-1',
      },
      {
        name: 'beside a read-only entry below the shared tree: not at the tree, which holds it, but one level down',
        hostPath: '/srv/shared/team/notes',
        root: '/srv/shared/team',
        subPath: 'notes',
      },
      {
        name: 'inside the read-only entry below the shared tree: at the path (nothing above it is writable as a whole)',
        hostPath: '/srv/shared/reference/docs',
        mountedReadOnly: true,
        root: '/srv/shared/reference/docs',
      },
      { name: 'under a pattern: at the pattern\'s prefix', hostPath: '/srv/data/p1/out/logs/today', root: '/srv/data/p1/out', subPath: 'logs/today' },
      {
        name: 'below a read-write built-in, which the annotation cannot ask for: at the allowed entry inside it, not at the built-in',
        hostPath: '/.deer-flow/threads/t1/out',
        root: '/.deer-flow/threads/t1',
        subPath: 'out',
      },
    ];
    for (const row of rows) {
      it(row.name, () => {
        const readOnly = row.mountedReadOnly ?? row.readOnly ?? false;
        const requested = { hostPath: row.hostPath, mountPath: '/data', ...(row.readOnly === undefined ? {} : { readOnly: row.readOnly }) };
        expect(injected({ mounts: [requested] })).to.deep.equal({
          volumes: [volume(row.root, readOnly ? 'Directory' : 'DirectoryOrCreate')],
          mounts: [mount(row.root, '/data', row.subPath, readOnly)],
        });
      });
    }
  });

  it('puts requests under one root into one volume, DirectoryOrCreate when any of its mounts is read-write', () => {
    expect(
      injected({
        mounts: [
          { hostPath: '/srv/tenants/agents/a', mountPath: '/a' },
          { hostPath: '/srv/models/llama', mountPath: '/m' },
          { hostPath: '/srv/tenants/agents/b', mountPath: '/b', readOnly: true },
          { hostPath: '/srv/tenants/agents', mountPath: '/all', readOnly: true },
        ],
      }),
    ).to.deep.equal({
      volumes: [volume('/srv/tenants/agents', 'DirectoryOrCreate'), volume('/srv/models/llama', 'Directory')],
      mounts: [
        mount('/srv/tenants/agents', '/a', 'a', false),
        mount('/srv/models/llama', '/m', undefined, true),
        mount('/srv/tenants/agents', '/b', 'b', true),
        mount('/srv/tenants/agents', '/all', undefined, true),
      ],
    });
  });

  it('roots a placeholder tree at its own namespace only: another namespace\'s tree is still refused', () => {
    const verdict = decide('mutate', requestFor(sandboxPod({ mounts: [{ hostPath: '/srv/tenants/other/x', mountPath: '/x' }] })), ROOTED);
    expect(verdict.allowed).to.equal(false);
    if (verdict.allowed) return;
    expect(verdict.violations.map(describeViolation)).to.deep.equal([
      'metadata.annotations[mountgate.io/mounts][0].hostPath: "/srv/tenants/other/x" is not under any allowed host path ("/srv/tenants/{namespace}" has {namespace} = "agents" for this request)',
    ]);
  });

  it('by default (requested) roots every volume at the requested path, as section 7 has it', () => {
    expect(injected({ mounts: [{ hostPath: '/srv/tenants/agents/projects/p1', mountPath: '/data' }] }, REQUESTED)).to.deep.equal({
      volumes: [volume('/srv/tenants/agents/projects/p1', 'DirectoryOrCreate')],
      mounts: [mount('/srv/tenants/agents/projects/p1', '/data', undefined, false)],
    });
  });

  describe('/validate', () => {
    const requests = [
      { hostPath: '/srv/tenants/agents/projects/p1', mountPath: '/data' },
      { hostPath: '/srv/shared/team/notes', mountPath: '/notes', readOnly: true },
    ];
    function mutated(): { spec: { containers: Array<{ volumeMounts: Array<Record<string, unknown>> }> } } {
      const { verdict, pod } = mutateTwice(sandboxPod({ mounts: requests }), ROOTED);
      if (!verdict.allowed) throw new Error(denialMessage(verdict.violations));
      return pod as ReturnType<typeof mutated>;
    }

    it('admits the Pod /mutate made', () => {
      const verdict = decide('validate', requestFor(mutated()), ROOTED);
      expect(verdict.allowed, verdict.allowed ? '' : denialMessage(verdict.violations)).to.equal(true);
    });

    it('refuses a mount whose subPath was changed after /mutate, naming the mount and the one missing', () => {
      const pod = mutated();
      const changed = pod.spec.containers[0]?.volumeMounts[1];
      if (changed === undefined) throw new Error('no injected mount');
      changed.subPath = 'projects/p2';
      const verdict = decide('validate', requestFor(pod), ROOTED);
      expect(verdict.allowed).to.equal(false);
      if (verdict.allowed) return;
      expect(verdict.violations.map(describeViolation)).to.deep.equal([
        `spec.containers[0].volumeMounts[1]: mount of "${expectedVolumeName('/srv/tenants/agents')}" at "/data" does not match what this request adds`,
        'spec.containers[0].volumeMounts: requested mount is missing: "/data" in container "sandbox" (mutation skipped or altered)',
      ]);
    });

    it('refuses the Pod that the default (requested) made: its volumes are not the ones this policy adds', () => {
      const { verdict, pod } = mutateTwice(sandboxPod({ mounts: requests.slice(0, 1) }), REQUESTED);
      if (!verdict.allowed) throw new Error(denialMessage(verdict.violations));
      const validated = decide('validate', requestFor(pod), ROOTED);
      expect(validated.allowed).to.equal(false);
      if (validated.allowed) return;
      expect(validated.violations.map((v) => v.rule)).to.deep.equal(['injection-mismatch', 'injection-missing', 'injection-mismatch', 'injection-missing']);
    });
  });

  describe('a debug container (pods/ephemeralcontainers), which cannot have a subPath', () => {
    type Spec = { spec: { ephemeralContainers?: unknown[] } };
    const debuggerOf = (root: string, readOnly: boolean, name = 'debugger') => ({
      name,
      image: 'busybox',
      volumeMounts: [{ name: expectedVolumeName(root), mountPath: '/host', ...(readOnly ? { readOnly: true } : {}) }],
    });
    /** The Pod mutated for `requests` under `mutatedBy`, then `added` debuggers after `earlier` ones, judged as the update under `judgedBy`. */
    function debug(requests: unknown[], added: unknown[], options: { mutatedBy?: CompiledPolicy; judgedBy?: CompiledPolicy; earlier?: unknown[] } = {}): string[] {
      const { verdict, pod } = mutateTwice(sandboxPod({ mounts: requests }), options.mutatedBy ?? ROOTED);
      if (!verdict.allowed) throw new Error(denialMessage(verdict.violations));
      const before = structuredClone(pod) as Spec;
      if (options.earlier !== undefined) before.spec.ephemeralContainers = options.earlier;
      const updated = structuredClone(before);
      updated.spec.ephemeralContainers = [...(options.earlier ?? []), ...added];
      const request = requestFor(updated, { operation: 'UPDATE', subResource: 'ephemeralcontainers', username: 'dev', oldObject: before });
      const judged = decide('validate', request, options.judgedBy ?? ROOTED);
      return judged.allowed ? [] : judged.violations.map(describeViolation);
    }
    const below = [{ hostPath: '/srv/tenants/agents/projects/p1', mountPath: '/data' }];
    const refusal = (index: number) =>
      `spec.ephemeralContainers[${index}].volumeMounts[0]: ephemeral container "debugger" mounts volume "${expectedVolumeName('/srv/tenants/agents')}" ("/srv/tenants/agents") whole, ` +
      "but the Pod's containers mount only paths below it (its volume is rooted above the requested paths, and an ephemeral container cannot have a subPath)";

    it('may not mount a volume whose containers mount only paths below it: that would hand it the whole root', () => {
      expect(debug(below, [debuggerOf('/srv/tenants/agents', true)])).to.deep.equal([refusal(0)]);
    });

    it('is judged by the Pod\'s shape: a Pod rooted before the policy went back to requested (or by another replica) is still refused', () => {
      expect(debug(below, [debuggerOf('/srv/tenants/agents', true)], { judgedBy: REQUESTED })).to.deep.equal([refusal(0)]);
    });

    it('may mount one a container mounts whole (the root itself was asked for), read-write where the policy allows it', () => {
      const requests = [{ hostPath: '/srv/tenants/agents', mountPath: '/all', readOnly: true }, ...below];
      expect(debug(requests, [debuggerOf('/srv/tenants/agents', true)])).to.deep.equal([]);
      expect(debug(requests, [debuggerOf('/srv/tenants/agents', false)])).to.deep.equal([]);
    });

    /** `debug`, with an init container that mounts the root's volume as `mount` says, in the Pod before and after. */
    function debugBesideInit(mount: Record<string, unknown>, added: unknown[]): string[] {
      const { verdict, pod } = mutateTwice(sandboxPod({ mounts: below }), ROOTED);
      if (!verdict.allowed) throw new Error(denialMessage(verdict.violations));
      const before = structuredClone(pod) as Spec & { spec: { initContainers?: unknown[] } };
      before.spec.initContainers = [{ name: 'init', image: 'busybox', volumeMounts: [{ name: expectedVolumeName('/srv/tenants/agents'), mountPath: '/init', ...mount }] }];
      const updated = structuredClone(before);
      updated.spec.ephemeralContainers = added;
      const judged = decide('validate', requestFor(updated, { operation: 'UPDATE', subResource: 'ephemeralcontainers', username: 'dev', oldObject: before }), ROOTED);
      return judged.allowed ? [] : judged.violations.map(describeViolation);
    }

    it('may mount one an init container mounts whole', () => {
      expect(debugBesideInit({}, [debuggerOf('/srv/tenants/agents', true)])).to.deep.equal([]);
    });

    it('may not mount one the Pod\'s containers mount only with a subPath or a subPathExpr', () => {
      expect(debugBesideInit({ subPath: 'projects' }, [debuggerOf('/srv/tenants/agents', true)])).to.deep.equal([refusal(0)]);
      expect(debugBesideInit({ subPathExpr: '$(POD_NAME)' }, [debuggerOf('/srv/tenants/agents', true)])).to.deep.equal([refusal(0)]);
    });

    it('judges only the containers this update adds: one added before does not block the next debug', () => {
      const earlier = [debuggerOf('/srv/tenants/agents', true, 'old-debugger')];
      const skills = { name: 'other', image: 'busybox', volumeMounts: [{ name: 'skills', mountPath: '/skills', readOnly: true }] };
      expect(debug(below, [skills], { earlier })).to.deep.equal([]);
      expect(debug(below, [debuggerOf('/srv/tenants/agents', true)], { earlier })).to.deep.equal([refusal(1)]);
    });

    it('by default (requested) may mount any of mountgate\'s volumes, as section 8 has it', () => {
      expect(debug(below, [debuggerOf('/srv/tenants/agents/projects/p1', false)], { mutatedBy: REQUESTED, judgedBy: REQUESTED })).to.deep.equal([]);
    });
  });

  it('roots at a MountPolicy\'s narrower entry, and below a read-only entry a layer adds', () => {
    const base = policyOf({ allowedHostPaths: [{ pathPrefix: '/srv/sandbox' }], volumeRoot: 'writableAncestor' });
    const rows: Array<[unknown[], string]> = [
      [[{ pathPrefix: '/srv/sandbox/alice' }], '/srv/sandbox/alice'],
      [[{ pathPrefix: '/srv/sandbox' }, { pathPrefix: '/srv/sandbox/alice/ro', readOnly: true }], '/srv/sandbox/alice/w'],
    ];
    for (const [entries, root] of rows) {
      const policy = layeredPolicy(base, { known: true, policies: [compileMountPolicy(mountPolicy({ allowedHostPaths: entries }, 'tenant', 'agents'))] });
      expect(injected({ mounts: [{ hostPath: '/srv/sandbox/alice/w/x', mountPath: '/w' }] }, policy).volumes).to.deep.equal([volume(root, 'DirectoryOrCreate')]);
    }
  });
});
