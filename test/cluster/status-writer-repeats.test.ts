/**
 * The status writer's bound on writing one MountPolicy the same status again (REPEATS_PER_WINDOW per
 * REPEAT_WINDOW_MS): only stored writes count, a held-back write is not lost to another's retry, and
 * condition times do not make a repeat look new.
 */
import { expect } from 'chai';
import { KubeStatusError } from '../../src/cluster/kube-request.js';
import { MountPolicyTable, type MountPolicyObject } from '../../src/cluster/mount-policy-cache.js';
import type { MountPolicyStatus } from '../../src/cluster/mount-policy-status.js';
import { REPEAT_WINDOW_MS, REPEATS_PER_WINDOW, StatusWriter } from '../../src/cluster/status-writer.js';
import type { CompiledPolicy } from '../../src/policy/compile.js';
import { createMetrics } from '../../src/server/metrics.js';
import { logSink } from '../helpers/log-sink.js';
import { policyOf } from '../helpers/policies.js';

function object(namespace: string, name: string, resourceVersion: string, status?: unknown, spec: unknown = { allowedHostPaths: [] }): MountPolicyObject {
  return {
    apiVersion: 'mountgate.io/v1alpha1',
    kind: 'MountPolicy',
    metadata: { namespace, name, uid: `u-${namespace}-${name}`, generation: 1, resourceVersion },
    spec,
    ...(status === undefined ? {} : { status }),
  };
}

interface Written {
  readonly ref: string;
  readonly status: MountPolicyStatus;
}

function setUp() {
  const table = new MountPolicyTable();
  const state: { policy: CompiledPolicy } = { policy: policyOf() };
  const written: Written[] = [];
  const fail: Error[] = [];
  const clock = { ms: 0, wall: Date.parse('2026-12-05T03:00:00Z') };
  const { lines, logger } = logSink();
  const writer = new StatusWriter({
    table,
    cluster: state,
    metrics: createMetrics(),
    logger,
    now: () => new Date(clock.wall),
    clockMs: () => clock.ms,
    retryDelayMs: 5,
    write: async (target, status) => {
      const failure = fail.shift();
      if (failure !== undefined) throw failure;
      written.push({ ref: `${target.metadata?.namespace}/${target.metadata?.name}`, status });
    },
  });
  return { table, state, written, fail, clock, lines, writer };
}


async function retries(writer: StatusWriter, rounds: number): Promise<void> {
  for (let i = 0; i < rounds; i++) {
    await new Promise((resolve) => setTimeout(resolve, 10));
    await writer.idle();
  }
}

const warnings = (lines: Array<Record<string, unknown>>): unknown[] => lines.filter((line) => line.level === 40 && String(line.msg).includes('again and again')).map((line) => line.mountPolicy);

describe('cluster/status-writer: repeats of one status', () => {
  let stopWriter: (() => Promise<void>) | undefined;
  // A writer left holding keeps retrying what it holds back: each row stops its own.
  afterEach(async () => {
    await stopWriter?.();
    stopWriter = undefined;
  });

  const failures: Array<[string, number, boolean]> = [
    ['four 500 answers in a row (an API server blip)', 500, false],
    ['four 409 answers in a row (cache older than the object)', 409, true],
  ];
  for (const [name, code, watchBringsNewer] of failures) {
    it(`writes the status once the API server answers again after ${name}: nothing was stored, so nothing is a repeat`, async () => {
      const { table, written, fail, lines, writer } = setUp();
      stopWriter = () => writer.stop();
      table.markSynced(true);
      writer.setHolding(true);
      for (let i = 0; i < REPEATS_PER_WINDOW + 1; i++) fail.push(new KubeStatusError(code, `HTTP ${code}`));
      table.upsert(object('team-a', 'tenant', '1'));
      for (let round = 0; round < 12; round++) {
        await writer.idle();
        // A 409 leaves it to the watch: the newer object (a metadata-only change, no status yet) is judged again.
        if (watchBringsNewer && written.length === 0) table.upsert(object('team-a', 'tenant', String(round + 2)));
        await retries(writer, 1);
      }
      expect({ written: written.length, warnings: warnings(lines) }).to.deep.equal({ written: 1, warnings: [] });
    });
  }

  const otherNamespace: Array<[string, boolean]> = [
    ['succeeds', false],
    ['fails with 500', true],
  ];
  for (const [name, otherFails] of otherNamespace) {
    it(`writes back a status held back in one namespace when a write in another namespace meanwhile ${name}`, async () => {
      const { table, written, fail, clock, writer } = setUp();
      stopWriter = () => writer.stop();
      table.markSynced(true);
      writer.setHolding(true);
      table.upsert(object('team-a', 'tenant', '1'));
      await writer.idle();
      // Someone else keeps replacing the status of team-a/tenant; mountgate writes its own back each time.
      const foreign = { observedGeneration: 1, conditions: [], effectiveAllowedHostPaths: [] };
      for (let i = 0; i < REPEATS_PER_WINDOW + 1; i++) {
        table.upsert(object('team-a', 'tenant', String(i + 2), foreign));
        await writer.idle();
      }
      const before = written.filter((w) => w.ref === 'team-a/tenant').length;
      expect(before).to.equal(1 + REPEATS_PER_WINDOW);
      // team-a/tenant is held back now, its retry pending; a write to team-b runs before that retry does.
      if (otherFails) fail.push(new KubeStatusError(500, 'HTTP 500'));
      table.upsert(object('team-b', 'other', '1'));
      await writer.idle();
      // The other writer has stopped; a window later team-a/tenant should get its status back.
      clock.ms += REPEAT_WINDOW_MS + 1;
      await retries(writer, 10);
      expect(written.filter((w) => w.ref === 'team-b/other').length, 'team-b written').to.equal(1);
      expect(written.filter((w) => w.ref === 'team-a/tenant').length, 'team-a/tenant written back after the window').to.equal(before + 1);
    });
  }

  it(`writes at most 1 + ${REPEATS_PER_WINDOW} statuses a window in a fight over Ready (another writer keeps setting Ready False)`, async () => {
    const { table, written, clock, writer } = setUp();
    stopWriter = () => writer.stop();
    table.markSynced(true);
    writer.setHolding(true);
    table.upsert(object('team-a', 'tenant', '1'));
    await writer.idle();
    let version = 1;
    for (let round = 0; round < 20; round++) {
      // One round trip later (over a second: the clocks move on by a second each round; 20 rounds < the window).
      clock.wall += 1_000;
      clock.ms += 1_000;
      version += 1;
      const last = written.at(-1)?.status;
      const flipped = { ...last, conditions: (last?.conditions ?? []).map((c) => ({ ...c, status: 'False', reason: 'Invalid', lastTransitionTime: new Date(clock.wall).toISOString().replace(/\.\d+Z$/, 'Z') })) };
      table.upsert(object('team-a', 'tenant', String(version), flipped));
      await writer.idle();
    }
    // Its first write and REPEATS_PER_WINDOW repeats of it, each putting Ready back to True; then it waits for the window.
    expect(written.map((w) => w.status.conditions[0]?.status)).to.deep.equal(Array.from({ length: 1 + REPEATS_PER_WINDOW }, () => 'True'));
  });

  it(`writes the same status again at most ${REPEATS_PER_WINDOW} times a window when it does not stay (stored otherwise than written)`, async () => {
    const { table, written, writer, clock, lines } = setUp();
    stopWriter = () => writer.stop();
    table.markSynced(true);
    writer.setHolding(true);
    try {
      // The API server as it would be if it normalised what it stores: every write comes back through the watch changed.
      let version = 1;
      const storeOtherwise = (): void => {
        const last = written.at(-1);
        if (last === undefined) return;
        version += 1;
        table.upsert(object('team-a', 'tenant', String(version), { ...last.status, conditions: [] }));
      };
      table.upsert(object('team-a', 'tenant', '1'));
      for (let i = 0; i < 20; i++) {
        await writer.idle();
        storeOtherwise();
        await retries(writer, 1);
      }
      expect(written).to.have.length(1 + REPEATS_PER_WINDOW);
      const warnings = lines.filter((line) => line.level === 40);
      expect(warnings.map((line) => [line.mountPolicy, line.repeats])).to.deep.equal([['team-a/tenant', REPEATS_PER_WINDOW]]);
      // A window later the write held back goes through.
      clock.ms += REPEAT_WINDOW_MS;
      await retries(writer, 3);
      expect(written).to.have.length(2 + REPEATS_PER_WINDOW);
    } finally {
      // Holding, it would go on retrying what it holds back.
      await writer.stop();
    }
  });

  it('never holds back a status that differs from the last one written', async () => {
    const { table, state, written, writer } = setUp();
    stopWriter = () => writer.stop();
    table.markSynced(true);
    writer.setHolding(true);
    const prefixes = Array.from({ length: REPEATS_PER_WINDOW + 3 }, (_, i) => `/srv/sandbox/t${i}`);
    table.upsert(object('team-a', 'tenant', '1'));
    await writer.idle();
    for (const prefix of prefixes) {
      state.policy = policyOf({ allowedHostPaths: [{ pathPrefix: prefix, readOnly: false }] });
      table.upsert(object('team-a', 'tenant', prefix, undefined, { allowedHostPaths: [{ pathPrefix: prefix }] }));
      await writer.idle();
    }
    expect(written).to.have.length(1 + prefixes.length);
  });
});
