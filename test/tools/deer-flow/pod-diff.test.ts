/**
 * The deer-flow provisioner tool's Pod comparison (test/e2e/tools/deer-flow/pod-diff.ts): equal
 * Pods give nothing, and each kind of change is named by its field, one difference per change.
 */
import { expect } from 'chai';
import { deerFlowSandboxPod, extraMountsFor } from '../../e2e/deer-flow-pods.js';
import { comparablePod, plainJson, podDifferences, type Json } from '../../e2e/tools/deer-flow/pod-diff.js';

const X = extraMountsFor('u3', 't-4c1e');
const pod = (): Json => comparablePod(deerFlowSandboxPod({ sandboxId: 'sb-1', userId: 'u3', threadId: 't-4c1e', extraMounts: [X.acpWorkspace, X.larkData], larkBroker: true }));

/** A copy of a JSON value to change (the original stays as the model). */
function copy(value: Json): Json {
  return structuredClone(value);
}

/** The value at a path of plain keys and indexes, for the tests to change. */
function at(value: Json, ...keys: ReadonlyArray<string | number>): Json {
  let here: Json | undefined = value;
  for (const key of keys) {
    if (Array.isArray(here) && typeof key === 'number') here = here[key];
    else if (typeof here === 'object' && here !== null && !Array.isArray(here) && typeof key === 'string') here = here[key];
    else here = undefined;
  }
  if (here === undefined) throw new Error(`no ${keys.join('.')}`);
  return here;
}

function asList(value: Json): Json[] {
  if (!Array.isArray(value)) throw new Error('not a list');
  return value;
}

function asObject(value: Json): { [key: string]: Json } {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new Error('not an object');
  return value;
}

describe('deer-flow provisioner tool: comparing Pods', () => {
  it('finds nothing between a Pod and itself', () => {
    expect(podDifferences(pod(), pod())).to.deep.equal([]);
  });

  it('ignores what the API server sets on each write, and the status', () => {
    const stored = {
      ...deerFlowSandboxPod({ sandboxId: 'sb-1' }),
      status: { phase: 'Pending' },
    };
    stored.metadata = { ...stored.metadata, uid: 'u-1', resourceVersion: '7', creationTimestamp: new Date(0), generation: 1, managedFields: [{ manager: 'x' }] };
    expect(podDifferences(comparablePod(deerFlowSandboxPod({ sandboxId: 'sb-1' })), comparablePod(stored))).to.deep.equal([]);
  });

  it('keeps the metadata that is the provisioner’s (a label changed is a difference)', () => {
    const real = copy(pod());
    asObject(at(real, 'metadata', 'labels'))['sandbox-id'] = 'other';
    expect(podDifferences(pod(), real)).to.deep.equal([{ field: 'metadata.labels.sandbox-id', model: 'sb-1', real: 'other' }]);
  });

  it('names an env entry of a named container by both names', () => {
    const real = copy(pod());
    const broker = asList(at(real, 'spec', 'containers')).find((c) => asObject(c).name === 'lark-cli-broker');
    if (broker === undefined) throw new Error('no broker');
    asObject(at(broker, 'env', 1)).value = '/var/lark/other';
    expect(podDifferences(pod(), real)).to.deep.equal([
      { field: 'spec.containers[name=lark-cli-broker].env[name=LARKSUITE_CLI_DATA_DIR].value', model: '/var/lark/data', real: '/var/lark/other' },
    ]);
  });

  it('reports a missing volume once, not as a shift of every later one', () => {
    const model = pod();
    const real = copy(model);
    const volumes = asList(at(real, 'spec', 'volumes'));
    const [removed] = volumes.splice(0, 1);
    const differences = podDifferences(model, real);
    expect(differences).to.deep.equal([{ field: 'spec.volumes[name=skills-public]', model: removed, real: undefined }]);
  });

  it('reports a change of order among named things on its own', () => {
    const model = pod();
    const real = copy(model);
    const mounts = asList(at(real, 'spec', 'containers', 0, 'volumeMounts'));
    const [first, second] = mounts;
    if (first === undefined || second === undefined) throw new Error('too few mounts');
    mounts.splice(0, 2, second, first);
    const differences = podDifferences(model, real);
    expect(differences).to.have.length(1);
    expect(differences[0]?.field).to.equal('spec.containers[name=sandbox].volumeMounts (order)');
  });

  it('compares unnamed lists (args) place by place', () => {
    const model = pod();
    const real = copy(model);
    const init = asList(at(real, 'spec', 'initContainers'));
    asList(at(asObject(at(init, 0)), 'args')).push('--extra');
    expect(podDifferences(model, real)).to.deep.equal([{ field: 'spec.initContainers[name=lark-cli-shim-init].args[2]', model: undefined, real: '--extra' }]);
  });

  it('names a field that only one Pod has', () => {
    const model = pod();
    const real = copy(model);
    asObject(at(real, 'spec')).hostNetwork = true;
    expect(podDifferences(model, real)).to.deep.equal([{ field: 'spec.hostNetwork', model: undefined, real: true }]);
  });

  it('turns Dates into their JSON text and leaves undefined fields out', () => {
    expect(plainJson({ at: new Date(0), gone: undefined, n: [1, undefined] })).to.deep.equal({ at: '1970-01-01T00:00:00.000Z', n: [1, null] });
  });
});
