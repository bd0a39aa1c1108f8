import { expect } from 'chai';
import { LEASE_HAND_BACK_TIMEOUT_MS, LeaseConflict, LeaseElector, microTime, type LeaseRecord, type LeaseStore, type LeaseTiming, type StoredLease } from '../../src/cluster/lease.js';

/** A Lease in memory with the API server's optimistic concurrency: a write with a stale resourceVersion is a 409. */
class FakeLeaseStore implements LeaseStore {
  lease: StoredLease | undefined;
  failing: Error | undefined;
  writes = 0;
  reads = 0;
  /** Runs as a write's answer travels back, after the write took effect: a test moves its clock here (a slow answer). */
  onAnswer: (() => void) | undefined;
  #version = 0;

  async read(): Promise<StoredLease | undefined> {
    this.reads++;
    if (this.failing) throw this.failing;
    return this.lease;
  }

  async create(record: LeaseRecord): Promise<StoredLease> {
    if (this.failing) throw this.failing;
    if (this.lease !== undefined) throw new LeaseConflict('exists');
    return this.#store(record);
  }

  async update(resourceVersion: string, record: LeaseRecord): Promise<StoredLease> {
    if (this.failing) throw this.failing;
    if (this.lease?.resourceVersion !== resourceVersion) throw new LeaseConflict('stale');
    return this.#store(record);
  }

  #store(record: LeaseRecord): StoredLease {
    this.writes++;
    this.lease = { resourceVersion: String(++this.#version), record };
    this.onAnswer?.();
    return this.lease;
  }
}

const TIMING: LeaseTiming = { durationSeconds: 15, renewDeadlineMs: 10_000, retryPeriodMs: 2_000 };

interface Replica {
  readonly elector: LeaseElector;
  readonly changes: boolean[];
  readonly errors: unknown[];
}

/** `clock` moves the wall clock and the monotonic clock together, unless `wall` is given (a wall-clock step). */
function replica(store: LeaseStore, identity: string, clock: { now: number; wall?: number }): Replica {
  const changes: boolean[] = [];
  const errors: unknown[] = [];
  const elector = new LeaseElector(
    store,
    identity,
    { onHoldingChange: (holding) => changes.push(holding), onError: (error) => errors.push(error) },
    TIMING,
    () => clock.wall ?? clock.now,
    () => clock.now,
  );
  return { elector, changes, errors };
}

/** Two replicas on one store and clock at 0: a has taken the Lease, b has seen it held. */
async function aHoldingBWaiting(): Promise<{ store: FakeLeaseStore; clock: { now: number; wall?: number }; a: Replica; b: Replica }> {
  const store = new FakeLeaseStore();
  const clock: { now: number; wall?: number } = { now: 0 };
  const a = replica(store, 'a', clock);
  const b = replica(store, 'b', clock);
  await a.elector.tryOnce();
  await b.elector.tryOnce();
  return { store, clock, a, b };
}

describe('cluster/lease', () => {
  it('writes MicroTime with six fraction digits', () => {
    expect(microTime(Date.UTC(2026, 11, 5, 3, 0, 0, 123))).to.equal('2026-12-05T03:00:00.123000Z');
  });

  it('creates an absent Lease and holds it', async () => {
    const store = new FakeLeaseStore();
    const a = replica(store, 'a', { now: 1_000 });
    await a.elector.tryOnce();
    expect(a.elector.holding).to.equal(true);
    expect(a.changes).to.deep.equal([true]);
    expect(store.lease?.record).to.deep.equal({ holderIdentity: 'a', leaseDurationSeconds: 15, acquireTime: microTime(1_000), renewTime: microTime(1_000), leaseTransitions: 0 });
  });

  it('renews its own Lease, keeping acquireTime', async () => {
    const store = new FakeLeaseStore();
    const clock = { now: 1_000 };
    const a = replica(store, 'a', clock);
    await a.elector.tryOnce();
    clock.now = 3_000;
    await a.elector.tryOnce();
    expect(store.lease?.record).to.include({ holderIdentity: 'a', acquireTime: microTime(1_000), renewTime: microTime(3_000), leaseTransitions: 0 });
    expect(a.changes).to.deep.equal([true]);
  });

  it("waits while another holder's Lease is fresh, and takes it over once it has gone unrenewed for its duration (by its own clock)", async () => {
    const store = new FakeLeaseStore();
    const clock = { now: 0 };
    const a = replica(store, 'a', clock);
    const b = replica(store, 'b', clock);
    await a.elector.tryOnce();
    // b first sees the Lease at 5 s: its renewTime (0 s) is not trusted across machines.
    clock.now = 5_000;
    await b.elector.tryOnce();
    clock.now = 19_000;
    await b.elector.tryOnce();
    expect(b.elector.holding, 'fresh for 15 s from when b first saw it').to.equal(false);
    clock.now = 20_000;
    await b.elector.tryOnce();
    expect(b.elector.holding).to.equal(true);
    expect(store.lease?.record).to.include({ holderIdentity: 'b', leaseTransitions: 1, acquireTime: microTime(20_000) });
  });

  it('counts the duration from the last renewal it saw: a holder that keeps renewing is never taken over', async () => {
    const { store, clock, a, b } = await aHoldingBWaiting();
    clock.now = 10_000;
    await a.elector.tryOnce();
    await b.elector.tryOnce();
    // 15 s after b first saw the Lease, but only 10 s after it saw a renew it.
    clock.now = 20_000;
    await b.elector.tryOnce();
    expect([b.elector.holding, store.lease?.record.holderIdentity], 'at 20 s').to.deep.equal([false, 'a']);
    clock.now = 24_999;
    await b.elector.tryOnce();
    expect([b.elector.holding, store.lease?.record.holderIdentity], 'at 24.999 s').to.deep.equal([false, 'a']);
    clock.now = 25_000;
    await b.elector.tryOnce();
    expect([b.elector.holding, store.lease?.record.holderIdentity], 'at 25 s').to.deep.equal([true, 'b']);
    expect(b.changes).to.deep.equal([true]);
  });

  it('never lets two replicas hold it: a write on a stale resourceVersion loses', async () => {
    const store = new FakeLeaseStore();
    const clock = { now: 0 };
    const a = replica(store, 'a', clock);
    const b = replica(store, 'b', clock);
    await Promise.all([a.elector.tryOnce(), b.elector.tryOnce()]);
    expect([a.elector.holding, b.elector.holding].filter(Boolean)).to.have.length(1);
    expect([...a.errors, ...b.errors], 'a lost race is no error').to.deep.equal([]);
  });

  it('a holder whose renewals fail steps down after the renew deadline, before its Lease can expire for others', async () => {
    const store = new FakeLeaseStore();
    const clock = { now: 0 };
    const a = replica(store, 'a', clock);
    await a.elector.tryOnce();
    store.failing = new Error('connection refused');
    clock.now = 9_000;
    await a.elector.tryOnce();
    expect(a.elector.holding).to.equal(true);
    clock.now = 10_000;
    await a.elector.tryOnce();
    expect(a.elector.holding).to.equal(false);
    expect(a.changes).to.deep.equal([true, false]);
    expect(a.errors).to.have.length(2);
  });

  it('steps down after the renew deadline even when a renewal hangs and never returns', async () => {
    const store = new FakeLeaseStore();
    const changes: boolean[] = [];
    const elector = new LeaseElector(store, 'a', { onHoldingChange: (h) => changes.push(h), onError: () => undefined }, { ...TIMING, renewDeadlineMs: 20 });
    await elector.tryOnce();
    store.read = () => new Promise(() => undefined);
    void elector.tryOnce();
    for (let i = 0; i < 100 && changes.length < 2; i++) await new Promise((resolve) => setTimeout(resolve, 5));
    expect(changes).to.deep.equal([true, false]);
  });

  // A renewal that took effect but whose answer came late: the other replicas count from when they saw it, so the
  // old holder must count from when it sent it (client-go's renew deadline), or two act as holder at once.
  const lateRows: ReadonlyArray<{ name: string; tookMs: number; holding: boolean; changes: boolean[]; late: boolean }> = [
    { name: 'a renewal answered at the renew deadline is dropped: the holder steps down and says why', tookMs: 10_000, holding: false, changes: [true, false], late: true },
    { name: 'a renewal answered long after the renew deadline is dropped too', tookMs: 25_000, holding: false, changes: [true, false], late: true },
    { name: 'a renewal answered just before the renew deadline keeps it holding', tookMs: 9_999, holding: true, changes: [true], late: false },
  ];
  for (const row of lateRows) {
    it(row.name, async () => {
      const store = new FakeLeaseStore();
      const clock = { now: 0 };
      const a = replica(store, 'a', clock);
      await a.elector.tryOnce();
      clock.now = 2_000;
      store.onAnswer = () => {
        clock.now += row.tookMs;
      };
      await a.elector.tryOnce();
      expect(store.lease?.record, 'the write itself took effect').to.include({ holderIdentity: 'a', renewTime: microTime(2_000) });
      expect(a.elector.holding).to.equal(row.holding);
      expect(a.changes).to.deep.equal(row.changes);
      expect(a.errors.map(String)).to.deep.equal(
        row.late ? [`Error: the Lease write was answered ${row.tookMs} ms after the attempt began, past the renew deadline (10000 ms); not acting on it`] : [],
      );
    });
  }

  it('does not become the holder on an acquisition answered past the renew deadline, and holds once a renewal is answered in time', async () => {
    const store = new FakeLeaseStore();
    const clock = { now: 0 };
    const a = replica(store, 'a', clock);
    store.onAnswer = () => {
      clock.now += 12_000;
    };
    await a.elector.tryOnce();
    expect(store.lease?.record.holderIdentity).to.equal('a');
    expect([a.elector.holding, a.changes]).to.deep.equal([false, []]);
    store.onAnswer = undefined;
    await a.elector.tryOnce();
    expect([a.elector.holding, a.changes]).to.deep.equal([true, [true]]);
  });

  it('steps down at the renew deadline counted from when the renewal was sent, not from its answer', async () => {
    const store = new FakeLeaseStore();
    const clock = { now: 0 };
    const a = replica(store, 'a', clock);
    // By the elector's clock the answer took 9.98 s of the 10 s; the watchdog is a real timer, so 20 ms of it are left.
    store.onAnswer = () => {
      clock.now += 9_980;
    };
    await a.elector.tryOnce();
    expect(a.elector.holding).to.equal(true);
    store.read = () => new Promise(() => undefined);
    void a.elector.tryOnce();
    // Counted from the answer, the watchdog would wait 10 s.
    for (let i = 0; i < 400 && a.changes.length < 2; i++) await new Promise((resolve) => setTimeout(resolve, 5));
    expect(a.changes).to.deep.equal([true, false]);
  });

  it('steps down when it finds another holder in the Lease', async () => {
    const store = new FakeLeaseStore();
    const clock = { now: 0 };
    const a = replica(store, 'a', clock);
    await a.elector.tryOnce();
    store.lease = { resourceVersion: 'x', record: { holderIdentity: 'b', leaseDurationSeconds: 15, leaseTransitions: 1 } };
    await a.elector.tryOnce();
    expect(a.changes).to.deep.equal([true, false]);
  });

  it('hands the Lease back on stop, so another replica takes it at once', async () => {
    const { store, clock, a, b } = await aHoldingBWaiting();
    await a.elector.stop();
    expect(a.changes).to.deep.equal([true, false]);
    expect(store.lease?.record).to.include({ holderIdentity: '', leaseDurationSeconds: 1 });
    clock.now = 1;
    await b.elector.tryOnce();
    expect(b.elector.holding).to.equal(true);
  });

  it('does not touch a Lease it does not hold when it stops', async () => {
    const { store, clock, a, b } = await aHoldingBWaiting();
    const writes = store.writes;
    await b.elector.stop();
    expect(store.writes).to.equal(writes);
    expect(store.lease?.record.holderIdentity).to.equal('a');
  });

  // Only the Lease's own times come from the wall clock; a step of it (NTP, an admin) moves no span of time.
  const wallStepRows: ReadonlyArray<{ name: string; run: (store: FakeLeaseStore, clock: { now: number; wall: number }) => Promise<{ holding: boolean; holder: string | undefined }>; holding: boolean; holder: string }> = [
    {
      name: 'a wall clock stepped forward past the Lease duration does not let another replica take a fresh Lease over',
      run: async (store, clock) => {
        const a = replica(store, 'a', clock);
        const b = replica(store, 'b', clock);
        await a.elector.tryOnce();
        await b.elector.tryOnce();
        clock.now += 1_000;
        clock.wall += 60_000;
        await b.elector.tryOnce();
        return { holding: b.elector.holding, holder: store.lease?.record.holderIdentity };
      },
      holding: false,
      holder: 'a',
    },
    {
      name: 'a renewal answered past the renew deadline is dropped though the wall clock stepped back meanwhile, and its renewTime is wall time',
      run: async (store, clock) => {
        const a = replica(store, 'a', clock);
        await a.elector.tryOnce();
        clock.now += 2_000;
        clock.wall += 2_000;
        store.onAnswer = () => {
          clock.now += 10_000;
          clock.wall -= 5_000;
        };
        await a.elector.tryOnce();
        expect(store.lease?.record.renewTime).to.equal(microTime(1_002_000));
        return { holding: a.elector.holding, holder: store.lease?.record.holderIdentity };
      },
      holding: false,
      holder: 'a',
    },
  ];
  for (const row of wallStepRows) {
    it(row.name, async () => {
      const store = new FakeLeaseStore();
      expect(await row.run(store, { now: 0, wall: 1_000_000 })).to.deep.equal({ holding: row.holding, holder: row.holder });
    });
  }

  it('steps down no later than the renew deadline when the wall clock steps back while its acquisition is answered (real timers)', async () => {
    const wall = { now: 100_000 };
    const store = new FakeLeaseStore();
    const changes: boolean[] = [];
    const started = performance.now();
    let steppedDownAfter = Infinity;
    // Only the wall clock is injected: the monotonic one is the default, performance.now().
    const elector = new LeaseElector(
      store,
      'a',
      {
        onHoldingChange: (holding) => {
          changes.push(holding);
          if (!holding) steppedDownAfter = performance.now() - started;
        },
        onError: () => undefined,
      },
      { durationSeconds: 1, renewDeadlineMs: 300, retryPeriodMs: 100 },
      () => wall.now,
    );
    store.onAnswer = () => {
      wall.now -= 2_000;
    };
    await elector.tryOnce();
    store.onAnswer = undefined;
    store.read = () => new Promise(() => undefined);
    void elector.tryOnce();
    for (let i = 0; i < 600 && changes.length < 2; i++) await new Promise((resolve) => setTimeout(resolve, 5));
    expect(changes).to.deep.equal([true, false]);
    // Room for a slow machine, far below the 2.3 s a wall-clock watchdog waits.
    expect(steppedDownAfter).to.be.below(300 + 400);
  });

  // On stop, the stored Lease decides: it is handed back whenever it names this replica.
  const stopRows: ReadonlyArray<{ name: string; run: (store: FakeLeaseStore, a: Replica, clock: { now: number }) => Promise<void>; holder: string; reads: number }> = [
    {
      name: 'hands the Lease back on stop after its last renewal was answered past the renew deadline (the write took effect)',
      run: async (store, a, clock) => {
        await a.elector.tryOnce();
        store.onAnswer = () => {
          clock.now += 10_000;
        };
        await a.elector.tryOnce();
        store.onAnswer = undefined;
        expect(a.elector.holding, 'stepped down').to.equal(false);
      },
      holder: '',
      reads: 1,
    },
    {
      name: 'does not touch the Lease on stop once another replica has taken it over',
      run: async (store, a) => {
        await a.elector.tryOnce();
        store.lease = { resourceVersion: 'x', record: { holderIdentity: 'b', leaseDurationSeconds: 15, leaseTransitions: 1 } };
        await a.elector.tryOnce();
      },
      holder: 'b',
      reads: 1,
    },
    {
      name: 'does not read the Lease on stop when it never sent a write',
      run: async (store) => {
        store.lease = { resourceVersion: 'x', record: { holderIdentity: 'b', leaseDurationSeconds: 15, leaseTransitions: 1 } };
      },
      holder: 'b',
      reads: 0,
    },
  ];
  for (const row of stopRows) {
    it(row.name, async () => {
      const store = new FakeLeaseStore();
      const clock = { now: 0 };
      const a = replica(store, 'a', clock);
      await row.run(store, a, clock);
      const reads = store.reads;
      await a.elector.stop();
      expect({ holder: store.lease?.record.holderIdentity, reads: store.reads - reads }).to.deep.equal({ holder: row.holder, reads: row.reads });
    });
  }

  it('start() tries at once and keeps renewing until stop()', async () => {
    const store = new FakeLeaseStore();
    const changes: boolean[] = [];
    const elector = new LeaseElector(store, 'a', { onHoldingChange: (h) => changes.push(h), onError: () => undefined }, { ...TIMING, retryPeriodMs: 5 });
    elector.start();
    try {
      for (let i = 0; i < 200 && store.writes < 3; i++) await new Promise((resolve) => setTimeout(resolve, 5));
      expect(store.writes).to.be.at.least(3);
    } finally {
      await elector.stop();
    }
    expect(changes).to.deep.equal([true, false]);
    expect(store.lease?.record.holderIdentity).to.equal('');
  });
});

/**
 * An API server that takes connections and never answers (a partition, a control plane being upgraded): each call
 * hangs until its signal aborts, as a request does when its deadline (30 s) has not come yet.
 */
class HangingLeaseStore implements LeaseStore {
  readonly calls: string[] = [];
  /** Calls answered at once before hanging starts (so that the replica first holds the Lease). */
  constructor(
    private readonly inner: LeaseStore,
    private answered: number,
  ) {}

  read(signal?: AbortSignal): Promise<StoredLease | undefined> {
    return this.#call('read', signal, () => this.inner.read());
  }

  create(record: LeaseRecord, signal?: AbortSignal): Promise<StoredLease> {
    return this.#call('create', signal, () => this.inner.create(record));
  }

  update(resourceVersion: string, record: LeaseRecord, signal?: AbortSignal): Promise<StoredLease> {
    return this.#call('update', signal, () => this.inner.update(resourceVersion, record));
  }

  #call<T>(name: string, signal: AbortSignal | undefined, answer: () => Promise<T>): Promise<T> {
    this.calls.push(name);
    if (this.answered > 0) {
      this.answered--;
      return answer();
    }
    return new Promise<T>((_resolve, reject) => {
      const fail = (): void => reject(signal?.reason instanceof Error ? signal.reason : new Error('aborted'));
      if (signal?.aborted === true) fail();
      else signal?.addEventListener('abort', fail, { once: true });
      // Without a signal the call would hang for the request's whole deadline; the test's own bound ends it.
    });
  }
}

describe('cluster/lease: stop() while the API server does not answer', function () {
  this.timeout(10_000);
  // Shutdown waits for stop(): while the kubelet's grace period runs out, it must not wait for a request's 30 s deadline.
  const rows: ReadonlyArray<{ name: string; answered: number; holding: boolean; errors: readonly string[] }> = [
    { name: 'an acquisition hanging: stop returns at once, with no error reported for it', answered: 0, holding: false, errors: [] },
    {
      name: 'holding, a renewal hanging: stop ends it and gives up handing the Lease back within the bound',
      answered: 2,
      holding: true,
      errors: [`Error: the Lease was not handed back within ${LEASE_HAND_BACK_TIMEOUT_MS} ms; the others take it over once it expires`],
    },
  ];
  for (const row of rows) {
    it(row.name, async () => {
      const store = new HangingLeaseStore(new FakeLeaseStore(), row.answered);
      const errors: unknown[] = [];
      const elector = new LeaseElector(store, 'a', { onHoldingChange: () => undefined, onError: (error) => errors.push(error) }, { durationSeconds: 15, renewDeadlineMs: 10_000, retryPeriodMs: 50 });
      elector.start();
      try {
        const deadline = Date.now() + 2_000;
        while (store.calls.length <= row.answered && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
        expect(elector.holding).to.equal(row.holding);
        const stopping = Date.now();
        await Promise.race([elector.stop(), new Promise((_resolve, reject) => setTimeout(() => reject(new Error('stop() still waiting after 5 s')), 5_000))]);
        expect(Date.now() - stopping).to.be.below(row.holding ? LEASE_HAND_BACK_TIMEOUT_MS + 500 : 500);
        // The aborted attempt is no error; a hand-back given up is.
        expect(errors.map(String)).to.deep.equal(row.errors);
      } finally {
        await Promise.race([elector.stop(), new Promise((resolve) => setTimeout(resolve, 100))]);
      }
    });
  }
});
