import { expect } from 'chai';
import fc from 'fast-check';
import { decide } from '../../src/admission/decide.js';
import { fromVerdict } from '../../src/admission/response.js';
import { denialMessage, SKIPPED } from '../../src/admission/verdict.js';
import type { CompiledPolicy } from '../../src/policy/compile.js';
import { likelyAdmittedPod, pod as anyPod } from '../helpers/arbitraries.js';
import { policyOf } from '../helpers/policies.js';
import { ANNOTATION, expectedVolumeName, FIELD, requestFor, sandboxPod, type RequestOptions } from '../helpers/pods.js';
import { mutateTwice } from '../helpers/reinvocation.js';

const POLICY = policyOf();
const RUNS = Number(process.env.MOUNTGATE_PROPERTY_RUNS ?? 300);

const WORK = { hostPath: '/srv/sandbox/u1', mountPath: '/mnt/work' };
const MODELS = { hostPath: '/srv/models/llama', mountPath: '/mnt/models' };
const WORK_VOLUME = expectedVolumeName('/srv/sandbox/u1');
const MODELS_VOLUME = expectedVolumeName('/srv/models/llama');

interface Manifest {
  metadata: { name: string; labels?: Record<string, string>; annotations?: Record<string, string> };
  spec: unknown;
}

/** The Pod as stored after a CREATE with these mounts (mutated by mountgate). */
function created(mounts: unknown[]): Manifest {
  const { verdict, pod } = mutateTwice(sandboxPod({ mounts }), POLICY);
  if (!verdict.allowed || pod === undefined) throw new Error('the mutation was denied');
  return pod as Manifest;
}

/** The same Pod with the annotation set to a value (an array is JSON-encoded), or removed (undefined). */
function withAnnotation(pod: Manifest, value: unknown[] | string | undefined): Manifest {
  return withKey(pod, ANNOTATION, Array.isArray(value) ? JSON.stringify(value) : value);
}

const SANDBOX_USER = 'mountgate.io/sandbox-user';
const USER_FIELD = `metadata.annotations[${SANDBOX_USER}]`;

/** The same Pod with the sandbox-user annotation (under this key) set to a value, or removed (undefined). */
function withSandboxUser(pod: Manifest, value: string | undefined, key = SANDBOX_USER): Manifest {
  return withKey(pod, key, value);
}

/** The same Pod with one annotation set to a value, or removed (undefined). */
function withKey(pod: Manifest, key: string, value: string | undefined): Manifest {
  const copy = structuredClone(pod);
  const { [key]: _old, ...others } = copy.metadata.annotations ?? {};
  copy.metadata.annotations = value === undefined ? others : { ...others, [key]: value };
  return copy;
}

function withLabel(pod: Manifest): Manifest {
  const copy = structuredClone(pod);
  copy.metadata.labels = { ...copy.metadata.labels, edited: 'yes' };
  return copy;
}

/** The denial message of /validate for an UPDATE from old to new ('' when allowed). */
function update(oldPod: unknown, newPod: unknown, options: RequestOptions = {}, policy: CompiledPolicy = POLICY): string {
  const verdict = decide('validate', requestFor(newPod, { operation: 'UPDATE', oldObject: oldPod, ...options }), policy);
  return verdict.allowed ? '' : `${verdict.code} ${denialMessage(verdict.violations)}`;
}

const ADDED = `${FIELD}: was added by an update, but host mounts are fixed when a Pod is created: create a new Pod that carries the annotation instead`;
const CHANGED = `${FIELD}: was changed by an update, but host mounts are fixed when a Pod is created: create a new Pod that carries the new value instead`;
const REMOVED =
  `${FIELD}: was removed by an update, but host mounts are fixed when a Pod is created: ` +
  'the Pod keeps its mounts, so it keeps the annotation (create a new Pod without it instead)';
const DENIED = '403 mountgate denied the Pod: ';
const userChange = (change: string, advice: string): string =>
  `${USER_FIELD}: was ${change} by an update, but the Pod has hostPath volumes and a Pod's sandbox user is fixed when it is created: ${advice}`;
const USER_ADDED = userChange('added', 'create a new Pod that carries the annotation instead');
const USER_CHANGED = userChange('changed', 'create a new Pod that carries the new value instead');
const USER_REMOVED = userChange('removed', 'the Pod keeps its mounts, so it keeps the annotation (create a new Pod without it instead)');
/** What /validate says of a requested mount the Pod does not carry. */
const missing = (hostPath: string, mountPath: string): string =>
  `spec.volumes: requested mount is missing: volume "${expectedVolumeName(hostPath)}" for ${hostPath} (mutation skipped or altered); ` +
  `spec.containers[0].volumeMounts: requested mount is missing: "${mountPath}" in container "sandbox" (mutation skipped or altered)`;

const plain = sandboxPod() as unknown as Manifest;
const mounted = created([WORK]);
const mountedBoth = created([WORK, MODELS]);
/** Carries the annotation, not the mounts: as a Pod created before mountgate watched its namespace. */
const liar = sandboxPod({ mounts: [WORK] }) as unknown as Manifest;
const alices = withSandboxUser(mounted, 'alice');
/** Its one hostPath volume is written by hand (/skills). */
const handWritten = withSandboxUser(plain, 'alice');
const withoutHostPaths = withSandboxUser(sandboxPod({ volumes: [{ name: 'skills', emptyDir: {} }] }) as unknown as Manifest, 'alice');

interface Row {
  readonly name: string;
  readonly old: Manifest;
  readonly new: Manifest;
  readonly options?: RequestOptions;
  readonly policy?: CompiledPolicy;
  /** '' when allowed. */
  readonly message: string;
}

const ROWS: readonly Row[] = [
  { name: 'allows an update that leaves the annotation alone (a label)', old: mounted, new: withLabel(mounted), message: '' },
  { name: 'allows an update of a Pod without the annotation', old: plain, new: withLabel(plain), message: '' },
  { name: 'allows an update of a Pod whose annotation already lies, when it leaves the annotation alone', old: liar, new: withLabel(liar), message: '' },
  {
    name: 'allows an update that leaves an unreadable annotation alone',
    old: withAnnotation(plain, 'not json'),
    new: withLabel(withAnnotation(plain, 'not json')),
    message: '',
  },
  {
    name: 'refuses adding the annotation to a Pod without the mounts (warm-pool adoption)',
    old: plain,
    new: withAnnotation(plain, [WORK]),
    message: `${DENIED}${ADDED}; ${missing(WORK.hostPath, WORK.mountPath)}`,
  },
  {
    name: 'refuses adding an annotation that breaks a rule, naming the rule',
    old: plain,
    new: withAnnotation(plain, [{ hostPath: '/etc', mountPath: '/mnt/etc' }]),
    message: `${DENIED}${ADDED}; ${FIELD}[0].hostPath: "/etc" is not under any allowed host path`,
  },
  {
    name: 'refuses changing the value to a path the Pod does not carry (an edited Sandbox)',
    old: mounted,
    new: withAnnotation(mounted, [{ hostPath: '/etc', mountPath: '/mnt/work' }]),
    message: `${DENIED}${CHANGED}; ${FIELD}[0].hostPath: "/etc" is not under any allowed host path`,
  },
  {
    name: 'refuses changing the value to ask for one more mount',
    old: mounted,
    new: withAnnotation(mounted, [WORK, MODELS]),
    message: `${DENIED}${CHANGED}; ${missing(MODELS.hostPath, MODELS.mountPath)}`,
  },
  {
    name: 'refuses changing the value to ask for one mount fewer',
    old: mountedBoth,
    new: withAnnotation(mountedBoth, [WORK]),
    message:
      `${DENIED}${CHANGED}; spec.volumes[2]: volume "${MODELS_VOLUME}" does not match what this request adds; ` +
      `spec.containers[0].volumeMounts[2]: mount of "${MODELS_VOLUME}" at "/mnt/models" does not match what this request adds`,
  },
  {
    name: 'refuses changing the value to an empty list on a Pod with mounts',
    old: mounted,
    new: withAnnotation(mounted, []),
    message:
      `${DENIED}${CHANGED}; spec.volumes[1]: volume "${WORK_VOLUME}" does not match what this request adds; ` +
      `spec.containers[0].volumeMounts[1]: mount of "${WORK_VOLUME}" at "/mnt/work" does not match what this request adds`,
  },
  {
    name: 'allows a new spelling of exactly the mounts the Pod carries',
    old: mounted,
    new: withAnnotation(mounted, [{ host_path: '/srv/sandbox/u1/', container_path: '/mnt/work', read_only: false }]),
    message: '',
  },
  {
    name: 'allows adding the annotation to a Pod that already carries exactly its mounts',
    old: withAnnotation(mounted, undefined),
    new: mounted,
    message: '',
  },
  {
    name: 'refuses removing the annotation from a Pod that carries its mounts',
    old: mountedBoth,
    new: withAnnotation(mountedBoth, undefined),
    message:
      `${DENIED}${REMOVED}; spec.volumes[1]: volume "${WORK_VOLUME}" mounts "/srv/sandbox/u1" from the host, but no annotation asks for it; ` +
      `spec.volumes[2]: volume "${MODELS_VOLUME}" mounts "/srv/models/llama" from the host, but no annotation asks for it`,
  },
  { name: 'allows removing an annotation that lied (the Pod has no mounts)', old: liar, new: withAnnotation(liar, undefined), message: '' },
  { name: 'allows correcting an annotation that lied to what the Pod carries', old: liar, new: withAnnotation(liar, []), message: '' },
  {
    name: 'judges the change by the user who makes it (requesters)',
    old: withAnnotation(mounted, undefined),
    new: mounted,
    options: { username: 'mallory', groups: [] },
    policy: policyOf({ requesters: ['group:provisioners'] }),
    message: `${DENIED}${ADDED}; request.userInfo: user "mallory" may not request host mounts (not in requesters)`,
  },
  {
    name: 'judges pods/status the same way (a status write can change metadata)',
    old: plain,
    new: withAnnotation(plain, [WORK]),
    options: { subResource: 'status' },
    message: `${DENIED}${ADDED}; ${missing(WORK.hostPath, WORK.mountPath)}`,
  },
  {
    name: 'reads the annotation key from the policy',
    old: plain,
    new: withAnnotation(plain, [WORK]),
    policy: policyOf({ annotation: 'example.com/other' }),
    message: '',
  },
  { name: 'allows an update that leaves the sandbox user alone', old: alices, new: withLabel(alices), message: '' },
  { name: 'refuses changing the sandbox user of a Pod with mountgate volumes', old: alices, new: withSandboxUser(alices, 'bob'), message: `${DENIED}${USER_CHANGED}` },
  { name: 'refuses adding a sandbox user to a Pod with mountgate volumes', old: mounted, new: withSandboxUser(mounted, 'bob'), message: `${DENIED}${USER_ADDED}` },
  { name: 'refuses removing the sandbox user of a Pod with mountgate volumes', old: alices, new: withSandboxUser(alices, undefined), message: `${DENIED}${USER_REMOVED}` },
  {
    name: 'refuses changing the sandbox user of a Pod with a hand-written hostPath volume',
    old: handWritten,
    new: withSandboxUser(handWritten, 'bob'),
    message: `${DENIED}${USER_CHANGED}`,
  },
  {
    name: 'refuses changing the sandbox user by a status write too',
    old: alices,
    new: withSandboxUser(alices, 'bob'),
    options: { subResource: 'status' },
    message: `${DENIED}${USER_CHANGED}`,
  },
  {
    name: 'allows changing the sandbox user of a Pod without hostPath volumes (nothing is judged with it)',
    old: withoutHostPaths,
    new: withSandboxUser(withoutHostPaths, 'bob'),
    message: '',
  },
  // The API server keeps spec.volumes as they were; neither object alone may vouch that the Pod has no hostPath volume.
  {
    name: 'refuses changing the sandbox user when only the new object shows a hostPath volume',
    old: withoutHostPaths,
    new: withSandboxUser(plain, 'bob'),
    message: `${DENIED}${USER_CHANGED}`,
  },
  {
    name: 'refuses changing the sandbox user when only the old object shows a hostPath volume',
    old: handWritten,
    new: withSandboxUser(withoutHostPaths, 'bob'),
    message: `${DENIED}${USER_CHANGED}`,
  },
  {
    name: 'names the policy annotation first, then the sandbox user, when an update changes both',
    old: alices,
    new: withSandboxUser(withAnnotation(alices, [WORK, MODELS]), 'bob'),
    message: `${DENIED}${CHANGED}; ${missing(MODELS.hostPath, MODELS.mountPath)}; ${USER_CHANGED}`,
  },
  {
    name: 'refuses a sandbox-user change beside an admitted new spelling of the mounts',
    old: alices,
    new: withSandboxUser(withAnnotation(alices, [{ host_path: '/srv/sandbox/u1/', container_path: '/mnt/work' }]), 'bob'),
    message: `${DENIED}${USER_CHANGED}`,
  },
  {
    name: 'reads the sandbox-user key from the policy',
    old: withSandboxUser(mounted, 'alice', 'example.com/owner'),
    new: withSandboxUser(withSandboxUser(mounted, 'bob', 'example.com/owner'), 'carol'),
    policy: policyOf({ sandboxUserAnnotation: 'example.com/owner' }),
    message:
      `${DENIED}metadata.annotations[example.com/owner]: was changed by an update, but the Pod has hostPath volumes and ` +
      "a Pod's sandbox user is fixed when it is created: create a new Pod that carries the new value instead",
  },
];

describe('admission/decide: Pod updates (the annotation never lies)', () => {
  for (const row of ROWS) {
    it(row.name, () => {
      expect(update(row.old, row.new, row.options, row.policy)).to.equal(row.message);
    });
  }

  it('refuses an update whose old Pod is missing or unreadable (400)', () => {
    expect(decide('validate', requestFor(mounted, { operation: 'UPDATE' }), POLICY)).to.deep.equal({
      allowed: false,
      code: 400,
      violations: [{ rule: 'unreadable-pod', field: 'request.oldObject', message: 'is not a readable Pod: is not an object' }],
      warnings: [],
    });
    expect(update({ metadata: { annotations: { [ANNOTATION]: 1 } }, spec: {} }, mounted)).to.equal(
      `400 mountgate denied the Pod: request.oldObject: is not a readable Pod: metadata.annotations[${ANNOTATION}] must be a string`,
    );
  });

  it('names the first 20 leftover mountgate volumes of a Pod whose annotation goes, and counts the rest', () => {
    const volumes = Array.from({ length: 25 }, (_, i) => ({ name: `mountgate-${String(i).padStart(12, '0')}`, hostPath: { path: `/srv/sandbox/${i}` } }));
    const old = sandboxPod({ mounts: [], volumes }) as unknown as Manifest;
    const verdict = decide('validate', requestFor(withAnnotation(old, undefined), { operation: 'UPDATE', oldObject: old }), POLICY);
    if (verdict.allowed) throw new Error('the update was allowed');
    expect(verdict.violations.map((v) => `${v.field}: ${v.message}`)).to.deep.equal([
      REMOVED,
      ...volumes.slice(0, 20).map((v, i) => `spec.volumes[${i}]: volume "${v.name}" mounts "${v.hostPath.path}" from the host, but no annotation asks for it`),
      'spec.volumes: 5 more mountgate volumes that no annotation asks for',
    ]);
  });

  it('records an admitted change of the annotation as a decision (audit verdict allowed), unlike an update that leaves it alone', () => {
    const respelled = withAnnotation(mounted, [{ host_path: '/srv/sandbox/u1/', container_path: '/mnt/work' }]);
    const judged = decide('validate', requestFor(respelled, { operation: 'UPDATE', oldObject: mounted }), POLICY);
    expect(judged).to.not.equal(SKIPPED);
    expect(fromVerdict(judged)).to.deep.equal({ allowed: true, auditAnnotations: { verdict: 'allowed' } });
    expect(fromVerdict(decide('validate', requestFor(withLabel(mounted), { operation: 'UPDATE', oldObject: mounted }), POLICY))).to.deep.equal({ allowed: true });
  });

  it('never patches an update: /mutate allows it untouched', () => {
    const verdict = decide('mutate', requestFor(withAnnotation(plain, [WORK]), { operation: 'UPDATE', oldObject: plain }), POLICY);
    expect(verdict).to.equal(SKIPPED);
  });

  it('leaves the other subresources alone (the API server keeps their metadata as it was)', () => {
    for (const subResource of ['resize', 'eviction', 'exec']) {
      expect(update(plain, withAnnotation(plain, [WORK]), { subResource }), subResource).to.equal('');
    }
  });
});

describe('admission/decide: the sandbox user at creation (only a trusted provisioner names it)', () => {
  const TRUSTING = policyOf({ trustedProvisioners: ['provisioner', 'group:provisioners'] });
  const create = (pod: unknown, options: RequestOptions, policy: CompiledPolicy = TRUSTING): string => {
    const verdict = decide('validate', requestFor(pod, { operation: 'CREATE', ...options }), policy);
    return verdict.allowed ? '' : `${verdict.code} ${denialMessage(verdict.violations)}`;
  };
  const untrusted = (who: string): string =>
    `${DENIED}${USER_FIELD}: names the sandbox user of a Pod with hostPath volumes, which only trustedProvisioners may do, and ${who} is not in trustedProvisioners`;
  const rows: ReadonlyArray<{ name: string; pod: Manifest; options: RequestOptions; policy?: CompiledPolicy; message: string }> = [
    { name: 'admits it from a provisioner trusted by name', pod: alices, options: { username: 'provisioner', groups: [] }, message: '' },
    { name: 'admits it from a provisioner trusted by group', pod: alices, options: { username: 'sa', groups: ['provisioners'] }, message: '' },
    { name: 'refuses it from anyone else, on a Pod with mountgate volumes', pod: alices, options: { username: 'mallory', groups: ['others'] }, message: untrusted('user "mallory"') },
    { name: 'refuses it on a Pod whose hostPath volume is written by hand', pod: handWritten, options: { username: 'mallory', groups: [] }, message: untrusted('user "mallory"') },
    {
      name: 'refuses it from everyone when no one is trusted, and says so',
      pod: alices,
      options: { username: 'provisioner', groups: [] },
      policy: POLICY,
      message: `${DENIED}${USER_FIELD}: names the sandbox user of a Pod with hostPath volumes, which only trustedProvisioners may do, and trustedProvisioners is empty`,
    },
    { name: 'refuses it from an anonymous request', pod: alices, options: { username: '', groups: [] }, message: untrusted('an anonymous user') },
    {
      name: 'refuses it from a user spelled like the trusted group, in no group',
      pod: alices,
      options: { username: 'group:provisioners', groups: [] },
      message: untrusted('user "group:provisioners"'),
    },
    { name: 'refuses an empty value too (the annotation is there)', pod: withSandboxUser(mounted, ''), options: { username: 'mallory', groups: [] }, message: untrusted('user "mallory"') },
    { name: 'admits it from anyone on a Pod without hostPath volumes (nothing is judged with it)', pod: withoutHostPaths, options: { username: 'mallory', groups: [] }, message: '' },
    { name: 'admits a Pod with hostPath volumes and no sandbox user from anyone', pod: mounted, options: { username: 'mallory', groups: [] }, message: '' },
  ];
  for (const row of rows) {
    it(row.name, () => {
      expect(create(row.pod, row.options, row.policy)).to.equal(row.message);
    });
  }

  it('is judged at creation only: kubectl debug and updates keep their own rules', () => {
    expect(create(alices, { username: 'mallory', groups: [], operation: 'UPDATE', subResource: 'ephemeralcontainers', oldObject: alices })).to.equal('');
    expect(update(alices, withLabel(alices), { username: 'mallory', groups: [] }, TRUSTING)).to.equal('');
  });

  const mutation = (pod: Manifest, options: RequestOptions): string => {
    const verdict = decide('mutate', requestFor(pod, options), TRUSTING);
    return verdict.allowed ? '' : `${verdict.code} ${denialMessage(verdict.violations)}`;
  };

  it('is a reason /mutate gives too, once the volumes it would add make the rule apply, in /validate\'s words', () => {
    const asking = withSandboxUser(sandboxPod({ mounts: [WORK] }) as unknown as Manifest, 'alice');
    expect(mutation(asking, { username: 'mallory', groups: [] })).to.equal(untrusted('user "mallory"'));
    expect(mutation(asking, { username: 'provisioner', groups: [] })).to.equal('');
    // Nothing to add, no hostPath volume: nothing is judged with the annotation.
    expect(mutation(withSandboxUser(sandboxPod() as unknown as Manifest, 'alice'), { username: 'mallory', groups: [] })).to.equal('');
  });

  it('gives /validate\'s whole answer at /mutate, so a hand-written volume outside the lists is still named first', () => {
    const outside = { name: 'etc', hostPath: { path: '/etc' } };
    const asking = withSandboxUser(sandboxPod({ mounts: [WORK], volumes: [{ name: 'skills', hostPath: { path: '/skills', type: 'Directory' } }, outside] }) as unknown as Manifest, 'alice');
    const validated = decide('mutate', requestFor(asking, { username: 'provisioner', groups: [] }), TRUSTING);
    // As the trusted provisioner, /mutate adds the volume and /validate then refuses /etc alone.
    expect(validated.allowed).to.equal(true);
    const expected = create(validated.allowed ? validated.mutated : undefined, { username: 'mallory', groups: [] });
    expect(expected).to.match(/^403 mountgate denied the Pod: spec\.volumes\[1\]\.hostPath\.path: "\/etc" is not under any allowed or built-in host path; /);
    expect(mutation(asking, { username: 'mallory', groups: [] })).to.equal(expected);
  });

  it('is not reached at /mutate when the annotation itself is refused (no volume is added)', () => {
    const asking = withSandboxUser(sandboxPod({ mounts: [WORK, { hostPath: '/etc', mountPath: '/etc-host' }] }) as unknown as Manifest, 'alice');
    expect(mutation(asking, { username: 'mallory', groups: [] })).to.equal(`${DENIED}${FIELD}[1].hostPath: "/etc" is not under any allowed host path`);
  });
});

describe('admission/decide: Bindings (they copy their annotations onto the Pod)', () => {
  const binding = (annotations?: Record<string, unknown>): Record<string, unknown> => ({
    apiVersion: 'v1',
    kind: 'Binding',
    metadata: { name: 'sandbox-1', ...(annotations === undefined ? {} : { annotations }) },
    target: { kind: 'Node', name: 'node-1' },
  });
  const judge = (object: unknown, options: RequestOptions): string => {
    const verdict = decide('validate', requestFor(object, { operation: 'CREATE', ...options }), POLICY);
    return verdict.allowed ? '' : `${verdict.code} ${denialMessage(verdict.violations)}`;
  };
  const BINDING_SETS = `${FIELD}: is set by a Binding, but host mounts are fixed when a Pod is created: a Binding may not set it`;
  const BINDING_DENIED = `${DENIED}${BINDING_SETS}`;
  const BINDING_SETS_USER = `${USER_FIELD}: is set by a Binding, but a Pod's sandbox user is fixed when it is created: a Binding may not set it`;
  const routes: ReadonlyArray<readonly [string, RequestOptions]> = [
    ['pods/binding', { subResource: 'binding' }],
    ['bindings', { resource: 'bindings' }],
  ];

  for (const [route, options] of routes) {
    it(`${route}: refuses a Binding that sets the annotation, whatever its value`, () => {
      expect(judge(binding({ [ANNOTATION]: JSON.stringify([WORK]) }), options)).to.equal(BINDING_DENIED);
      expect(judge(binding({ [ANNOTATION]: '[]' }), options)).to.equal(BINDING_DENIED);
    });

    it(`${route}: refuses a Binding that sets the sandbox user, whatever its value, and names both annotations when it sets both`, () => {
      expect(judge(binding({ [SANDBOX_USER]: 'bob' }), options)).to.equal(`${DENIED}${BINDING_SETS_USER}`);
      expect(judge(binding({ [SANDBOX_USER]: '' }), options)).to.equal(`${DENIED}${BINDING_SETS_USER}`);
      expect(judge(binding({ [SANDBOX_USER]: 'bob', [ANNOTATION]: '[]' }), options)).to.equal(`${DENIED}${BINDING_SETS}; ${BINDING_SETS_USER}`);
    });

    it(`${route}: allows a Binding without it (the scheduler's)`, () => {
      expect(judge(binding(), options)).to.equal('');
      expect(judge(binding({ 'example.com/other': 'x' }), options)).to.equal('');
    });

    it(`${route}: refuses an unreadable Binding (400)`, () => {
      expect(judge(binding({ [ANNOTATION]: 7 }), options)).to.equal(
        '400 mountgate denied the Pod: request.object: is not a readable Binding: its metadata.annotations must be an object of strings',
      );
      expect(judge('binding', options)).to.equal(
        '400 mountgate denied the Pod: request.object: is not a readable Binding: its metadata.annotations must be an object of strings',
      );
    });
  }
});

describe('admission/decide: Pod updates, properties', function () {
  this.timeout(120_000);

  /** Whether /validate would admit this Pod, annotation and volumes together, as a CREATE. */
  const agrees = (pod: unknown): boolean => decide('validate', requestFor(pod), POLICY).allowed;
  const mountgateVolumes = (pod: Manifest): number =>
    ((pod.spec as { volumes?: Array<{ name: string }> }).volumes ?? []).filter((v) => v.name.startsWith('mountgate-')).length;

  it('an admitted annotation change leaves a Pod whose annotation agrees with its volumes', () => {
    const stored = likelyAdmittedPod.map((candidate) => mutateTwice(candidate, POLICY).pod).filter((p): p is Manifest => p !== undefined && agrees(p));
    const otherValue = fc.option(
      anyPod.map((p) => p.metadata.annotations?.[ANNOTATION]),
      { nil: undefined },
    );
    // Another Pod's value, or the stored Pod's own (which the update rule admits): without the latter, almost no
    // generated change is admitted and the agreement below would go unchecked.
    const change = fc.tuple(stored, fc.oneof(otherValue.map((value) => ({ own: false, value })), fc.constant({ own: true, value: undefined })));
    let admitted = 0;
    fc.assert(
      fc.property(change, ([old, choice]) => {
        const value = choice.own ? old.metadata.annotations?.[ANNOTATION] : choice.value;
        const changed = withAnnotation(old, value);
        if (update(old, changed) !== '') return;
        admitted++;
        if (value === undefined) expect(mountgateVolumes(changed)).to.equal(0);
        else expect(agrees(changed), `admitted ${value}`).to.equal(true);
      }),
      { numRuns: RUNS },
    );
    expect(admitted, 'admitted changes judged').to.be.above(RUNS / 10);
  });

  it('the value a Pod was created with may be written again; removing it is allowed only from a Pod without mounts', () => {
    fc.assert(
      fc.property(likelyAdmittedPod, (candidate) => {
        const stored = mutateTwice(candidate, POLICY).pod as Manifest | undefined;
        if (stored === undefined) return;
        const bare = withAnnotation(stored, undefined);
        expect(update(bare, stored)).to.equal('');
        expect(update(stored, withLabel(stored))).to.equal('');
        expect(update(stored, bare) === '').to.equal(mountgateVolumes(stored) === 0);
      }),
      { numRuns: RUNS },
    );
  });
});
