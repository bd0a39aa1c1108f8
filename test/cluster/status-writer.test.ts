import { expect } from 'chai';
import { KubeStatusError } from '../../src/cluster/kube-request.js';
import { keptOf, MAX_KEPT_STATUS_LENGTH, MountPolicyTable, type MountPolicyObject } from '../../src/cluster/mount-policy-cache.js';
import type { MountPolicyStatus } from '../../src/cluster/mount-policy-status.js';
import { StatusWriter } from '../../src/cluster/status-writer.js';
import type { CompiledPolicy } from '../../src/policy/compile.js';
import { createMetrics } from '../../src/server/metrics.js';
import { silentLogger } from '../../src/server/logger.js';
import { policyOf } from '../helpers/policies.js';

function object(name: string, spec: unknown, generation = 1, resourceVersion = '1', status?: unknown): MountPolicyObject {
  return { apiVersion: 'mountgate.io/v1alpha1', kind: 'MountPolicy', metadata: { namespace: 'team-a', name, uid: `u-${name}`, generation, resourceVersion }, spec, ...(status === undefined ? {} : { status }) };
}

interface Written {
  readonly name: string;
  readonly resourceVersion: string | undefined;
  readonly status: MountPolicyStatus;
}

/** A writer over a table, writing into an array; `fail` makes the next writes throw that error. */
function setUp() {
  const table = new MountPolicyTable();
  const state: { policy: CompiledPolicy } = { policy: policyOf() };
  const written: Written[] = [];
  const control: { fail: Array<Error & { code?: number }> } = { fail: [] };
  const metrics = createMetrics();
  const writer = new StatusWriter({
    table,
    cluster: state,
    metrics,
    logger: silentLogger(),
    now: () => new Date('2026-12-05T03:00:00.250Z'),
    retryDelayMs: 5,
    write: async (target, status) => {
      const failure = control.fail.shift();
      if (failure !== undefined) throw failure;
      written.push({ name: target.metadata?.name ?? '', resourceVersion: target.metadata?.resourceVersion, status });
    },
  });
  const count = async (result: string): Promise<number> => (await metrics.mountPolicyStatusWrites.get()).values.find((v) => v.labels.result === result)?.value ?? 0;
  return { table, state, written, control, writer, count };
}

const httpError = (code: number): KubeStatusError => new KubeStatusError(code, `HTTP ${code}`);

describe('cluster/status-writer', () => {
  it('writes nothing while not holding the Lease', async () => {
    const { table, written, writer } = setUp();
    table.upsert(object('tenant', { allowedHostPaths: [] }));
    table.markSynced(true);
    await writer.idle();
    expect(written).to.deep.equal([]);
  });

  it('writes every MountPolicy once on gaining the Lease, with the resourceVersion it read, in whole seconds', async () => {
    const { table, written, writer, count } = setUp();
    table.upsert(object('tenant', { allowedHostPaths: [{ pathPrefix: '/srv/sandbox/team-a' }] }, 2, '7'));
    table.upsert(object('models', {}, 1, '8'));
    table.markSynced(true);
    writer.setHolding(true);
    await writer.idle();
    expect(written.map((w) => [w.name, w.resourceVersion, w.status.observedGeneration]).sort()).to.deep.equal([
      ['models', '8', 1],
      ['tenant', '7', 2],
    ]);
    expect(written[0]?.status.conditions[0]?.lastTransitionTime).to.equal('2026-12-05T03:00:00Z');
    expect(await count('success')).to.equal(2);
  });

  it('lets other work run between two MountPolicies (admission requests are served during a long drain)', async () => {
    const { table, written, writer } = setUp();
    for (let i = 0; i < 20; i++) table.upsert(object(`tenant-${i}`, { allowedHostPaths: [] }));
    table.markSynced(true);
    writer.setHolding(true);
    const writtenWhenOtherWorkRan = await new Promise<number>((resolve) => setImmediate(() => resolve(written.length)));
    await writer.idle();
    expect(written).to.have.length(20);
    expect(writtenWhenOtherWorkRan).to.be.below(20);
  });

  it('does not write again when the watch brings back what it wrote', async () => {
    const { table, written, writer } = setUp();
    table.markSynced(true);
    writer.setHolding(true);
    table.upsert(object('tenant', { allowedHostPaths: [] }));
    await writer.idle();
    expect(written).to.have.length(1);
    table.upsert(object('tenant', { allowedHostPaths: [] }, 1, '2', JSON.parse(JSON.stringify(written[0]?.status))));
    await writer.idle();
    expect(written).to.have.length(1);
  });

  it('writes its status over a stored one too large to keep, and then leaves it', async () => {
    const { table, written, writer } = setUp();
    table.markSynced(true);
    writer.setHolding(true);
    table.upsert(keptOf(object('tenant', { allowedHostPaths: [] }, 1, '1', { conditions: [], padding: 'x'.repeat(MAX_KEPT_STATUS_LENGTH) })));
    await writer.idle();
    expect(written.map((w) => [w.resourceVersion, w.status.conditions[0]?.reason])).to.deep.equal([['1', 'Enforced']]);
    table.upsert(keptOf(object('tenant', { allowedHostPaths: [] }, 1, '2', JSON.parse(JSON.stringify(written[0]?.status)))));
    await writer.idle();
    expect(written).to.have.length(1);
  });

  it('writes again when the spec changes, and on a cluster policy reload that changes the answer', async () => {
    const { table, state, written, writer } = setUp();
    table.markSynced(true);
    writer.setHolding(true);
    table.upsert(object('tenant', { allowedHostPaths: [{ pathPrefix: '/srv/sandbox/team-a' }] }));
    await writer.idle();
    const stored = (at: number): MountPolicyObject =>
      object('tenant', { allowedHostPaths: [{ pathPrefix: '/srv/sandbox/team-a' }] }, 1, String(at), JSON.parse(JSON.stringify(written.at(-1)?.status)));
    table.upsert(stored(2));
    state.policy = policyOf({ allowedHostPaths: [{ pathPrefix: '/srv/models' }] });
    writer.refreshAll();
    await writer.idle();
    expect(written).to.have.length(2);
    expect(written[1]?.status.effectiveAllowedHostPaths).to.deep.equal([]);
    expect(written[1]?.status.conditions[0]?.message).to.include('beyond the cluster policy now, so in force only as far as it also allows');
  });

  it("rewrites a MountPolicy's status when a sibling is added, changed or deleted", async () => {
    const { table, written, writer } = setUp();
    table.markSynced(true);
    writer.setHolding(true);
    const tenantSpec = { allowedHostPaths: [{ pathPrefix: '/srv/sandbox/team-a' }] };
    table.upsert(object('tenant', tenantSpec));
    await writer.idle();
    // The watch brings back each write, as the API server would.
    const echo = (name: string, spec: unknown, generation: number, at: number): void => {
      const last = [...written].reverse().find((w) => w.name === name);
      table.upsert(object(name, spec, generation, String(at), JSON.parse(JSON.stringify(last?.status))));
    };
    const tenantStatus = (): string | undefined => [...written].reverse().find((w) => w.name === 'tenant')?.status.conditions[0]?.message;
    const tenantWrites = (): number => written.filter((w) => w.name === 'tenant').length;
    echo('tenant', tenantSpec, 1, 2);

    table.upsert(object('other', { allowedHostPaths: [{ pathPrefix: '/srv/sandbox/team-a/work', readOnly: true }] }, 1, '3'));
    await writer.idle();
    expect(tenantStatus()).to.equal(
      'mountgate enforces generation 1: Pods of namespace team-a may use host paths under "/srv/sandbox/team-a/work" (read-only) (with MountPolicy team-a/other)',
    );
    expect(tenantWrites()).to.equal(2);
    echo('tenant', tenantSpec, 1, 4);
    echo('other', { allowedHostPaths: [{ pathPrefix: '/srv/sandbox/team-a/work', readOnly: true }] }, 1, 5);
    await writer.idle();
    expect(tenantWrites(), 'the echoes change nothing').to.equal(2);

    table.upsert(object('other', { allowedHostPaths: [{ pathPrefix: '/srv/sandbox/team-a/work' }] }, 2, '6'));
    await writer.idle();
    expect(tenantStatus()).to.equal('mountgate enforces generation 1: Pods of namespace team-a may use host paths under "/srv/sandbox/team-a/work" (with MountPolicy team-a/other)');
    echo('tenant', tenantSpec, 1, 7);

    table.remove(object('other', {}, 2, '8'));
    await writer.idle();
    expect(tenantStatus()).to.equal('mountgate enforces generation 1: Pods of namespace team-a may use host paths under "/srv/sandbox/team-a"');
    expect(written.at(-1)?.status.effectiveAllowedHostPaths).to.deep.equal([{ pathPrefix: '/srv/sandbox/team-a', readOnly: false }]);
    expect(tenantWrites()).to.equal(4);
  });

  it("leaves another namespace's MountPolicies alone", async () => {
    const { table, written, writer } = setUp();
    table.markSynced(true);
    writer.setHolding(true);
    table.upsert(object('tenant', {}));
    await writer.idle();
    table.upsert(object('tenant', {}, 1, '2', JSON.parse(JSON.stringify(written[0]?.status))));
    const elsewhere = object('other', { allowedHostPaths: [] });
    table.upsert({ ...elsewhere, metadata: { ...elsewhere.metadata, namespace: 'team-b' } });
    await writer.idle();
    expect(written.map((w) => w.name)).to.deep.equal(['tenant', 'other']);
    expect(written[1]?.status.conditions[0]?.message).to.equal('mountgate enforces generation 1: Pods of namespace team-b may use no host path');
  });

  it('counts a conflict and leaves it to the watch; retries a failure after a pause', async () => {
    const { table, written, control, writer, count } = setUp();
    table.markSynced(true);
    control.fail.push(httpError(409), httpError(500));
    writer.setHolding(true);
    table.upsert(object('a', {}));
    await writer.idle();
    expect(await count('conflict')).to.equal(1);
    // In another namespace, so that its change does not queue a again.
    const b = object('b', {});
    table.upsert({ ...b, metadata: { ...b.metadata, namespace: 'team-b' } });
    await writer.idle();
    expect([await count('failure'), written.map((w) => w.name)], 'b failed, not yet tried again').to.deep.equal([1, []]);
    for (let i = 0; i < 100 && written.length === 0; i++) {
      await new Promise((resolve) => setTimeout(resolve, 5));
      await writer.idle();
    }
    // Room for a retry of a, which must not come.
    await new Promise((resolve) => setTimeout(resolve, 50));
    await writer.idle();
    expect(written.map((w) => w.name)).to.deep.equal(['b']);
    expect([await count('conflict'), await count('failure'), await count('success')]).to.deep.equal([1, 1, 1]);
  });

  it('stops writing when the Lease is lost and after stop()', async () => {
    const { table, written, writer } = setUp();
    table.markSynced(true);
    writer.setHolding(true);
    writer.setHolding(false);
    table.upsert(object('a', {}));
    await writer.idle();
    await writer.stop();
    writer.setHolding(true);
    await writer.idle();
    expect(written).to.deep.equal([]);
  });
});

describe('cluster/status-writer: stop() or the Lease lost while a write is under way', () => {
  // Shutdown waits for stop(); an API server that takes the write and never answers must not hold it for the
  // request's 30 s deadline. A replica that lost the Lease writes nothing more: another may hold it by the time a
  // write still under way would land.
  const never = (signal: AbortSignal | undefined): Promise<void> =>
    new Promise<void>((_resolve, reject) => {
      const fail = (): void => reject(signal?.reason instanceof Error ? signal.reason : new Error('aborted'));
      if (signal?.aborted === true) fail();
      else signal?.addEventListener('abort', fail, { once: true });
    });
  const rows: ReadonlyArray<{ name: string; end: (writer: StatusWriter) => Promise<void> }> = [
    { name: 'a write the API server never answers ends at once on stop(), not counted as failed', end: (writer) => writer.stop() },
    {
      name: 'a write the API server never answers ends at once when the Lease is lost, not counted as failed',
      end: async (writer) => {
        writer.setHolding(false);
        await writer.idle();
      },
    },
  ];
  for (const row of rows) {
    it(row.name, async () => {
      const table = new MountPolicyTable();
      const metrics = createMetrics();
      let started: (() => void) | undefined;
      const writing = new Promise<void>((resolve) => (started = resolve));
      const writer = new StatusWriter({
        table,
        cluster: { policy: policyOf() },
        metrics,
        logger: silentLogger(),
        retryDelayMs: 5,
        write: (_target, _status, signal) => {
          started?.();
          return never(signal);
        },
      });
      table.upsert(object('tenant', { allowedHostPaths: [] }));
      table.markSynced(true);
      writer.setHolding(true);
      await writing;
      const stopping = Date.now();
      let timer: NodeJS.Timeout | undefined;
      try {
        await Promise.race([row.end(writer), new Promise((_resolve, reject) => (timer = setTimeout(() => reject(new Error('the write still under way after 2 s')), 2_000)))]);
      } finally {
        clearTimeout(timer);
        await writer.stop();
      }
      expect(Date.now() - stopping).to.be.below(500);
      const failures = (await metrics.mountPolicyStatusWrites.get()).values.find((v) => v.labels.result === 'failure')?.value ?? 0;
      expect(failures).to.equal(0);
    });
  }
});
