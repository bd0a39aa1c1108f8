import { expect } from 'chai';
import { decide } from '../../src/admission/decide.js';
import { LayeredPolicies } from '../../src/cluster/layered-policies.js';
import { keptOf, MAX_KEPT_STATUS_LENGTH, MountPolicyTable, NOT_LISTED, OVERSIZED_STATUS, WATCH_BROKEN, type MountPolicyObject, type TableChange } from '../../src/cluster/mount-policy-cache.js';
import type { CompiledPolicy } from '../../src/policy/compile.js';
import { MAX_SPEC_BYTES } from '../../src/policy/mount-policy.js';
import { MAX_EFFECTIVE_CHARACTERS, MAX_EFFECTIVE_ENTRIES } from '../../src/policy/effective.js';
import { MAX_MESSAGE_LENGTH } from '../../src/cluster/mount-policy-status.js';
import { policyOf, specOfBytes } from '../helpers/policies.js';
import { requestFor, sandboxPod } from '../helpers/pods.js';

/** MountPolicies as the API server lists them (managedFields trimmed). */
function recorded(namespace: string, name: string, spec: unknown, generation = 1, resourceVersion = '100'): MountPolicyObject {
  return {
    apiVersion: 'mountgate.io/v1alpha1',
    kind: 'MountPolicy',
    metadata: { namespace, name, uid: `uid-${namespace}-${name}`, generation, resourceVersion },
    spec,
  };
}

const TEAM_A = recorded('team-a', 'tenant', { allowedHostPaths: [{ pathPrefix: '/srv/sandbox/team-a' }], maxMounts: 2 });
const TEAM_A_MODELS = recorded('team-a', 'models', { allowedHostPaths: [{ pathPrefix: '/srv/sandbox/team-a' }, { pathPrefix: '/srv/models' }] });
const TEAM_B = recorded('team-b', 'tenant', { allowedHostPaths: [{ pathPrefix: '/srv/sandbox/team-b' }] });
const BROKEN = recorded('team-c', 'typo', { allowedHostPath: [{ pathPrefix: '/srv/sandbox/team-c' }] });

function synced(...objects: MountPolicyObject[]): MountPolicyTable {
  const table = new MountPolicyTable();
  for (const object of objects) table.upsert(object);
  table.markSynced(true);
  return table;
}

const names = (table: MountPolicyTable, namespace: string): string[] => {
  const layers = table.layersOf(namespace);
  return layers.known ? layers.policies.map((policy) => policy.ref.name).sort() : [`unknown: ${layers.why}`];
};

describe('cluster/mount-policy-cache', () => {
  describe('MountPolicyTable', () => {
    it('knows nothing until the first listing: every namespace is unknown', () => {
      const table = new MountPolicyTable();
      table.upsert(TEAM_A);
      expect(table.layersOf('team-a')).to.deep.equal({ known: false, namespace: 'team-a', why: NOT_LISTED });
      expect(table.layersOf('elsewhere')).to.deep.equal({ known: false, namespace: 'elsewhere', why: NOT_LISTED });
      expect([table.synced, table.everSynced]).to.deep.equal([false, false]);
    });

    it("answers each namespace's compiled MountPolicies once synced, and none for other namespaces", () => {
      const table = synced(TEAM_A, TEAM_A_MODELS, TEAM_B);
      expect(names(table, 'team-a')).to.deep.equal(['models', 'tenant']);
      expect(names(table, 'team-b')).to.deep.equal(['tenant']);
      expect(table.layersOf('team-z')).to.deep.equal({ known: true, policies: [] });
      expect(table.size).to.equal(3);
    });

    it('is unknown again while the watch is broken, naming why, until it is synced again', () => {
      const table = synced(TEAM_A);
      table.markSynced(false);
      expect(table.layersOf('team-a')).to.deep.equal({ known: false, namespace: 'team-a', why: WATCH_BROKEN });
      expect(table.everSynced).to.equal(true);
      table.markSynced(true);
      expect(names(table, 'team-a')).to.deep.equal(['tenant']);
    });

    it('keeps an invalid MountPolicy, compiled with its problems (it then allows nothing)', () => {
      const table = synced(BROKEN);
      const layers = table.layersOf('team-c');
      expect(layers.known && layers.policies[0]?.problems).to.deep.equal(['spec has an unknown key: allowedHostPath']);
    });

    it('keeps a stored MountPolicy over the size bound (written past the webhook) as invalid: it allows nothing, saying why', () => {
      const table = synced(recorded('team-c', 'huge', specOfBytes(MAX_SPEC_BYTES + 1, '/srv/sandbox/team-c')));
      const layers = table.layersOf('team-c');
      const why = 'spec takes 65537 bytes as JSON, more than the 65536 (64 KiB) mountgate reads';
      expect(layers.known && layers.policies[0]?.problems).to.deep.equal([why]);
      expect(layers.known && layers.policies[0]?.layer?.closed).to.equal(`it is invalid, so it allows no host path: ${why}`);
    });

    it('keeps a MountPolicy with a key beside spec that is not its own (a misspelt spec, stored past the webhook) as invalid, as kept from the watch: it allows nothing, saying why', () => {
      const { spec: _spec, ...withoutSpec } = recorded('team-c', 'spce', undefined);
      const misspelt = { ...withoutSpec, spce: { allowedHostPaths: [{ pathPrefix: '/srv/sandbox/team-c' }] } };
      const table = synced(keptOf(misspelt));
      const layers = table.layersOf('team-c');
      expect(layers.known && layers.policies[0]?.problems).to.deep.equal(['the MountPolicy has an unknown key: spce']);
      expect(layers.known && layers.policies[0]?.layer?.closed).to.equal('it is invalid, so it allows no host path: the MountPolicy has an unknown key: spce');
    });

    it('keeps a key named __proto__ beside spec as a key, not as the prototype of what it keeps', () => {
      const parsed: unknown = JSON.parse(`{"__proto__": {"x": 1}, ${JSON.stringify(recorded('team-c', 'proto', {})).slice(1)}`);
      const table = synced(keptOf(parsed as MountPolicyObject));
      const layers = table.layersOf('team-c');
      expect(layers.known && layers.policies[0]?.problems).to.deep.equal(['the MountPolicy has an unknown key: __proto__']);
    });

    it('compiles a MountPolicy again when a key beside spec comes or goes, whatever its generation says', () => {
      const table = synced(keptOf(TEAM_A));
      const misspelt = { ...TEAM_A, metadata: { ...TEAM_A.metadata, resourceVersion: '140' }, spce: {} };
      table.upsert(keptOf(misspelt));
      const layers = table.layersOf('team-a');
      expect(layers.known && layers.policies[0]?.problems).to.deep.equal(['the MountPolicy has an unknown key: spce']);
    });

    it('compiles a MountPolicy again when it is made anew under the same name (a new uid), though its generation and spec are as before', () => {
      const table = synced(TEAM_A);
      const changes: TableChange[] = [];
      table.onChange((change) => changes.push(change));
      const before = table.layersOf('team-a');
      table.upsert({ ...TEAM_A, metadata: { ...TEAM_A.metadata, uid: 'uid-team-a-tenant-2', resourceVersion: '160' } });
      const layers = table.layersOf('team-a');
      expect(layers).not.to.equal(before);
      expect(layers.known && layers.policies.map((policy) => [policy.ref.name, policy.uid, policy.generation])).to.deep.equal([['tenant', 'uid-team-a-tenant-2', 1]]);
      expect(changes).to.deep.equal([{ namespace: 'team-a', layersChanged: true }]);
    });

    it('follows updates and deletions', () => {
      const table = synced(TEAM_A, TEAM_A_MODELS);
      table.upsert(recorded('team-a', 'tenant', { allowedHostPaths: [] }, 2, '101'));
      const layers = table.layersOf('team-a');
      expect(layers.known && layers.policies.map((policy) => [policy.ref.name, policy.generation])).to.have.deep.members([
        ['models', 1],
        ['tenant', 2],
      ]);
      table.remove(TEAM_A_MODELS);
      expect(names(table, 'team-a'), 'one of two removed').to.deep.equal(['tenant']);
      table.remove(recorded('team-a', 'tenant', {}));
      expect(table.layersOf('team-a')).to.deep.equal({ known: true, policies: [] });
      expect(table.size).to.equal(0);
    });

    it('after a re-list holds exactly what was listed: one deleted meanwhile is gone, one unchanged keeps its compiled layer', () => {
      const table = synced(TEAM_A, TEAM_A_MODELS, TEAM_B);
      const before = table.get({ namespace: 'team-b', name: 'tenant' })?.compiled;
      const changes: TableChange[] = [];
      table.onChange((change) => changes.push(change));
      table.replace([TEAM_B, recorded('team-a', 'tenant', { allowedHostPaths: [] }, 2, '130')]);
      expect(names(table, 'team-a')).to.deep.equal(['tenant']);
      expect(table.get({ namespace: 'team-a', name: 'tenant' })?.compiled.generation).to.equal(2);
      expect(table.get({ namespace: 'team-b', name: 'tenant' })?.compiled, 'not recompiled').to.equal(before);
      expect(table.size).to.equal(2);
      expect(changes).to.deep.include({ namespace: 'team-a', layersChanged: true });
      table.replace([]);
      expect([table.size, names(table, 'team-a'), names(table, 'team-b')]).to.deep.equal([0, [], []]);
    });

    it('ignores an object it cannot place (no namespace or name)', () => {
      const table = synced({ metadata: { name: 'x' }, spec: {} }, { metadata: { namespace: 'team-a' }, spec: {} });
      expect(table.size).to.equal(0);
      expect(table.list()).to.deep.equal([]);
    });

    it('tells which namespace changed, and whether its layers did (a status write leaves them alone)', () => {
      const table = synced(TEAM_A);
      const changes: TableChange[] = [];
      table.onChange((change) => changes.push(change));
      const before = table.layersOf('team-a');
      table.upsert({ ...TEAM_A, metadata: { ...TEAM_A.metadata, resourceVersion: '150' }, status: { observedGeneration: 1 } });
      expect(table.layersOf('team-a'), 'the same answer, not recompiled').to.equal(before);
      table.upsert(recorded('team-a', 'tenant', { allowedHostPaths: [] }, 2, '151'));
      expect(table.layersOf('team-a')).not.to.equal(before);
      table.markSynced(false);
      expect(changes).to.deep.equal([
        { namespace: 'team-a', layersChanged: false },
        { namespace: 'team-a', layersChanged: true },
        { namespace: undefined, layersChanged: true },
      ]);
    });

    it('keeps the raw object for status (resourceVersion, status) next to the compiled one', () => {
      const table = synced(TEAM_B);
      const entry = table.get({ namespace: 'team-b', name: 'tenant' });
      expect(entry?.object.metadata?.resourceVersion).to.equal('100');
      expect(entry?.compiled.uid).to.equal('uid-team-b-tenant');
      expect(table.list('team-b')).to.have.length(1);
    });
  });

  describe('keptOf: what the table keeps of an object', () => {
    // MAX_EFFECTIVE_ENTRIES prefixes sharing MAX_EFFECTIVE_CHARACTERS, and a message of MAX_MESSAGE_LENGTH, all of '"'.
    const prefixLength = Math.floor(MAX_EFFECTIVE_CHARACTERS / MAX_EFFECTIVE_ENTRIES);
    const LARGEST_OWN_STATUS = {
      observedGeneration: 1,
      conditions: [{ type: 'Ready', status: 'True', reason: 'Enforced', message: '"'.repeat(MAX_MESSAGE_LENGTH), observedGeneration: 1, lastTransitionTime: '2026-12-05T10:00:00Z' }],
      effectiveAllowedHostPaths: Array.from({ length: MAX_EFFECTIVE_ENTRIES }, () => ({ pathPrefix: `/${'"'.repeat(prefixLength - 1)}`, readOnly: false })),
    };
    const STATUS = { conditions: [{ type: 'Ready', status: 'True', reason: 'Enforced', message: 'mountgate enforces generation 1' }] };
    const bulky = {
      ...TEAM_A,
      metadata: {
        ...TEAM_A.metadata,
        labels: { team: 'a' },
        annotations: { 'kubectl.kubernetes.io/last-applied-configuration': 'x'.repeat(200_000) },
        managedFields: [{ manager: 'kubectl', operation: 'Update', fieldsV1: { 'f:spec': {} } }],
        finalizers: ['example.com/keep'],
        creationTimestamp: '2026-12-05T10:00:00Z',
      },
      status: STATUS,
    };
    const rows: ReadonlyArray<{ name: string; object: MountPolicyObject; kept: MountPolicyObject }> = [
      { name: 'an object as listed is kept as it is', object: TEAM_A, kept: TEAM_A },
      { name: 'labels, annotations, managedFields, finalizers and timestamps are left out; spec and status stay', object: bulky, kept: { ...TEAM_A, status: STATUS } },
      { name: 'an object without metadata stays without', object: { kind: 'MountPolicy', spec: {} }, kept: { kind: 'MountPolicy', spec: {} } },
      {
        name: 'a key beside spec that is not a MountPolicy\'s (a misspelt spec) is kept by name, for the MountPolicy to be refused; its value is left out',
        object: { ...TEAM_A, spce: { allowedHostPaths: [{ pathPrefix: '/srv/sandbox/team-a'.repeat(100) }] } } as MountPolicyObject,
        kept: { ...TEAM_A, spce: null } as MountPolicyObject,
      },
      {
        name: 'a status over the bound is kept as a note that no status mountgate writes equals',
        object: { ...TEAM_A, status: { conditions: [], note: 'x'.repeat(MAX_KEPT_STATUS_LENGTH) } },
        kept: { ...TEAM_A, status: OVERSIZED_STATUS },
      },
      {
        name: 'the largest status mountgate writes is kept: every effective entry and the message at their bounds, each character escaped in JSON',
        object: { ...TEAM_A, status: LARGEST_OWN_STATUS },
        kept: { ...TEAM_A, status: LARGEST_OWN_STATUS },
      },
      {
        name: 'a status of characters that take three bytes in UTF-8 is measured in UTF-16 code units, as the bounds on it are',
        object: { ...TEAM_A, status: { conditions: [], effectiveAllowedHostPaths: [{ pathPrefix: `/srv/${'漢'.repeat(MAX_EFFECTIVE_CHARACTERS - 5)}` }] } },
        kept: { ...TEAM_A, status: { conditions: [], effectiveAllowedHostPaths: [{ pathPrefix: `/srv/${'漢'.repeat(MAX_EFFECTIVE_CHARACTERS - 5)}` }] } },
      },
      {
        name: 'a status just within the bound is kept',
        object: { ...TEAM_A, status: { n: 'x'.repeat(MAX_KEPT_STATUS_LENGTH - '{"n":""}'.length) } },
        kept: { ...TEAM_A, status: { n: 'x'.repeat(MAX_KEPT_STATUS_LENGTH - '{"n":""}'.length) } },
      },
    ];
    for (const row of rows) {
      it(row.name, () => expect(keptOf(row.object)).to.deep.equal(row.kept));
    }
  });

  describe('LayeredPolicies', () => {
    const cluster = { policy: policyOf() };
    const hostMount = (namespace: string, hostPath: string) =>
      requestFor(sandboxPod({ mounts: [{ hostPath, mountPath: '/mnt/work' }] }), { namespace });
    const verdictIn = (layered: LayeredPolicies, namespace: string, hostPath: string) => {
      const request = hostMount(namespace, hostPath);
      const verdict = decide('mutate', request, layered.policyFor(namespace));
      return verdict.allowed ? 'allowed' : verdict.violations.map((v) => v.message).join('; ');
    };

    it('is the cluster policy itself in a namespace without MountPolicies', () => {
      expect(new LayeredPolicies(cluster, synced(TEAM_A)).policyFor('elsewhere')).to.equal(cluster.policy);
    });

    it("confines team-a to its tree and refuses team-b's, naming the MountPolicy", () => {
      const layered = new LayeredPolicies(cluster, synced(TEAM_A, TEAM_B));
      expect(verdictIn(layered, 'team-a', '/srv/sandbox/team-a/x')).to.equal('allowed');
      expect(verdictIn(layered, 'team-a', '/srv/sandbox/team-b/x')).to.include('MountPolicy team-a/tenant');
      expect(verdictIn(layered, 'elsewhere', '/srv/sandbox/team-b/x'), 'other namespaces keep the cluster policy').to.equal('allowed');
    });

    it('refuses every host path in the namespace of a MountPolicy over the size bound, naming why, and only there', () => {
      const layered = new LayeredPolicies(cluster, synced(TEAM_A, recorded('team-a', 'huge', specOfBytes(MAX_SPEC_BYTES + 1, '/srv/sandbox/team-a'))));
      expect(verdictIn(layered, 'team-a', '/srv/sandbox/team-a/x')).to.include('MountPolicy team-a/huge').and.include('spec takes 65537 bytes as JSON');
      expect(verdictIn(layered, 'elsewhere', '/srv/sandbox/team-a/x')).to.equal('allowed');
    });

    it('refuses host paths while the MountPolicies are unknown, and lets a Pod without any through', () => {
      const table = new MountPolicyTable();
      const layered = new LayeredPolicies(cluster, table);
      expect(verdictIn(layered, 'team-a', '/srv/sandbox/x')).to.include(NOT_LISTED);
      const plain = requestFor(sandboxPod({ volumes: [], containers: [{ name: 'sandbox', image: 'sandbox:1' }] }), { namespace: 'team-a' });
      expect(decide('validate', plain, layered.policyFor('team-a')).allowed).to.equal(true);
      table.markSynced(true);
      expect(verdictIn(layered, 'team-a', '/srv/sandbox/x'), 'the memo went with the sync').to.equal('allowed');
    });

    it("memoizes per namespace, and forgets a namespace when its MountPolicies change", () => {
      const table = synced(TEAM_A, TEAM_B);
      const layered = new LayeredPolicies(cluster, table);
      const [a, b] = [layered.policyFor('team-a'), layered.policyFor('team-b')];
      expect(layered.policyFor('team-a')).to.equal(a);
      table.upsert(recorded('team-a', 'tenant', { allowedHostPaths: [{ pathPrefix: '/srv/sandbox/team-a2' }] }, 2, '120'));
      expect(layered.policyFor('team-a')).not.to.equal(a);
      expect(layered.policyFor('team-b')).to.equal(b);
      expect(verdictIn(layered, 'team-a', '/srv/sandbox/team-a/x')).to.include('MountPolicy team-a/tenant');
    });

    it('follows a cluster policy reload: the new policy, narrowed the same way', () => {
      const state: { policy: CompiledPolicy } = { policy: policyOf() };
      const layered = new LayeredPolicies(state, synced(TEAM_A));
      expect(verdictIn(layered, 'team-a', '/srv/sandbox/team-a/x')).to.equal('allowed');
      state.policy = policyOf({ allowedHostPaths: [{ pathPrefix: '/srv/models', readOnly: true }] });
      expect(verdictIn(layered, 'team-a', '/srv/sandbox/team-a/x')).to.include('/srv/sandbox/team-a/x');
      expect(verdictIn(layered, 'team-a', '/srv/sandbox/team-a/x')).not.to.equal('allowed');
    });
  });
});
