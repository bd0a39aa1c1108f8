/**
 * Leader election on a coordination.k8s.io/v1 Lease, the way client-go's
 * leaderelection package does it (@kubernetes/client-node 1.x has none):
 * create the Lease when it is absent, renew it while holding it, take it over
 * once it has gone unrenewed for its duration, and hand it back on stop. Every
 * write carries the resourceVersion that was read, so two replicas racing for
 * it cannot both win. Expiry is judged by this process's own clock, from when
 * it last saw the Lease change, never from the renewTime another machine wrote.
 * Every span of time (expiry, the renew deadline) is measured on the monotonic
 * clock, which a wall-clock step (NTP, an admin) does not move; only the times
 * written into the Lease come from the wall clock.
 */

/** What the Lease says, as plain data; times are RFC 3339 strings as the API server gives them. */
export interface LeaseRecord {
  /** Empty when nobody holds it (a holder that stopped cleanly). */
  readonly holderIdentity: string;
  readonly leaseDurationSeconds: number;
  readonly acquireTime?: string | undefined;
  readonly renewTime?: string | undefined;
  readonly leaseTransitions: number;
}

export interface StoredLease {
  readonly resourceVersion: string;
  readonly record: LeaseRecord;
}

/** Thrown by a LeaseStore write that lost a race (HTTP 409: changed or created meanwhile). */
export class LeaseConflict extends Error {
  override name = 'LeaseConflict';
}

/** The Lease object in the API server; an adapter over the Kubernetes client, or a fake in tests. */
export interface LeaseStore {
  /** undefined when the Lease does not exist. Each call ends early, failing, when `signal` aborts. */
  read(signal?: AbortSignal): Promise<StoredLease | undefined>;
  create(record: LeaseRecord, signal?: AbortSignal): Promise<StoredLease>;
  /** Replaces the spec only if the Lease still has `resourceVersion`. */
  update(resourceVersion: string, record: LeaseRecord, signal?: AbortSignal): Promise<StoredLease>;
}

/**
 * How long stop() tries to hand the Lease back. Shutdown waits for stop(), and an API server that takes
 * connections but does not answer would otherwise hold it for each request's whole deadline (30 s), past the
 * kubelet's grace period; a Lease not handed back is taken over once it expires, as after a crash.
 */
export const LEASE_HAND_BACK_TIMEOUT_MS = 3_000;

export interface LeaseTiming {
  /** How long a Lease stays valid after its last renewal (client-go's default: 15 s). */
  readonly durationSeconds: number;
  /** A holder that has not renewed for this long stops acting as holder (10 s), before others may take over. */
  readonly renewDeadlineMs: number;
  /** How often to try to acquire or renew (2 s). */
  readonly retryPeriodMs: number;
}

export const DEFAULT_LEASE_TIMING: LeaseTiming = { durationSeconds: 15, renewDeadlineMs: 10_000, retryPeriodMs: 2_000 };

export interface LeaseEvents {
  /** Called with true when this process starts holding the Lease, false when it stops. */
  onHoldingChange(holding: boolean): void;
  onError(error: unknown): void;
}

/** "2026-12-05T03:00:00.123000Z": the API server's MicroTime takes six fraction digits. */
export function microTime(ms: number): string {
  return new Date(ms).toISOString().replace(/Z$/, '000Z');
}

export class LeaseElector {
  #holding = false;
  /** When this process sent the last renewal (or acquisition) that succeeded, by its monotonic clock. */
  #lastRenewedAt = 0;
  /** The last record seen and when it was first seen, by this process's monotonic clock. */
  #observed: { readonly key: string; readonly at: number } | undefined;
  #timer: NodeJS.Timeout | undefined;
  /** Steps down at the renew deadline counted from when the last successful renewal was sent, even if a request hangs and tryOnce never returns. */
  #watchdog: NodeJS.Timeout | undefined;
  #running: Promise<void> | undefined;
  /** Aborted by stop(): the attempt under way ends at once instead of at its request's deadline. */
  #abort = new AbortController();
  #stopped = true;
  /** A write naming this replica was sent: the Lease may name it, even if it is not holding (an answer came late or never). */
  #wrote = false;

  constructor(
    private readonly store: LeaseStore,
    private readonly identity: string,
    private readonly events: LeaseEvents,
    private readonly timing: LeaseTiming = DEFAULT_LEASE_TIMING,
    /** The wall clock, for the times written into the Lease. */
    private readonly now: () => number = Date.now,
    /** A monotonic clock in ms, for every span of time. */
    private readonly elapsed: () => number = () => performance.now(),
  ) {}

  get holding(): boolean {
    return this.#holding;
  }

  /** Tries at once, then every retry period, until stop(). */
  start(): void {
    if (!this.#stopped) return;
    this.#stopped = false;
    this.#abort = new AbortController();
    const loop = (): void => {
      this.#running = this.tryOnce().finally(() => {
        this.#running = undefined;
        if (this.#stopped) return;
        this.#timer = setTimeout(loop, this.timing.retryPeriodMs);
      });
    };
    loop();
  }

  /**
   * Stops trying, and hands the Lease back (holder cleared, one-second duration) so another replica takes it at
   * once, whenever the stored Lease names this replica: also when it had stopped acting as holder because its
   * last renewal was answered late, as that write still took effect. A replica that never sent a write does not look.
   */
  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#timer);
    clearTimeout(this.#watchdog);
    this.#abort.abort(new Error('the Lease elector stopped'));
    await this.#running;
    if (this.#holding) this.#setHolding(false);
    if (!this.#wrote) return;
    const signal = AbortSignal.timeout(LEASE_HAND_BACK_TIMEOUT_MS);
    try {
      const current = await this.store.read(signal);
      if (current === undefined || current.record.holderIdentity !== this.identity) return;
      const at = microTime(this.now());
      await this.store.update(current.resourceVersion, { ...current.record, holderIdentity: '', leaseDurationSeconds: 1, acquireTime: at, renewTime: at }, signal);
    } catch (error) {
      if (signal.aborted) {
        this.events.onError(new Error(`the Lease was not handed back within ${LEASE_HAND_BACK_TIMEOUT_MS} ms; the others take it over once it expires`));
        return;
      }
      // Not handed back: the others take over once it expires.
      this.events.onError(error);
    }
  }

  /** One attempt to acquire or renew; never throws (errors go to onError). */
  async tryOnce(): Promise<void> {
    try {
      await this.#attempt();
    } catch (error) {
      // An attempt ended by stop() is no failure to report.
      if (!(error instanceof LeaseConflict) && !this.#abort.signal.aborted) this.events.onError(error);
      // A holder that cannot renew must stop acting as one before its Lease can expire for the others.
      if (this.#holding && this.elapsed() - this.#lastRenewedAt >= this.timing.renewDeadlineMs) this.#setHolding(false);
    }
  }

  async #attempt(): Promise<void> {
    // The others count the Lease's duration from when they see the write, which is after it was sent: the renew
    // deadline is counted from the same start, however long the answers take.
    const sentAt = this.elapsed();
    const { signal } = this.#abort;
    const current = await this.store.read(signal);
    const readAt = this.elapsed();
    const at = microTime(this.now());
    if (current === undefined) {
      this.#wrote = true;
      const created = await this.store.create({ holderIdentity: this.identity, leaseDurationSeconds: this.timing.durationSeconds, acquireTime: at, renewTime: at, leaseTransitions: 0 }, signal);
      this.#renewed(created, sentAt, readAt);
      return;
    }
    this.#observe(current, readAt);
    const { record } = current;
    if (record.holderIdentity === this.identity) {
      this.#wrote = true;
      this.#renewed(await this.store.update(current.resourceVersion, { ...record, leaseDurationSeconds: this.timing.durationSeconds, renewTime: at }, signal), sentAt, readAt);
      return;
    }
    if (record.holderIdentity !== '' && !this.#expired(record, readAt)) {
      if (this.#holding) this.#setHolding(false);
      return;
    }
    this.#wrote = true;
    const taken = await this.store.update(current.resourceVersion, {
      holderIdentity: this.identity,
      leaseDurationSeconds: this.timing.durationSeconds,
      acquireTime: at,
      renewTime: at,
      leaseTransitions: record.leaseTransitions + 1,
    }, signal);
    this.#renewed(taken, sentAt, readAt);
  }

  #observe(lease: StoredLease, now: number): void {
    const { holderIdentity, renewTime, acquireTime, leaseDurationSeconds } = lease.record;
    const key = JSON.stringify([holderIdentity, renewTime, acquireTime, leaseDurationSeconds]);
    if (this.#observed?.key !== key) this.#observed = { key, at: now };
  }

  #expired(record: LeaseRecord, now: number): boolean {
    const seenAt = this.#observed?.at ?? now;
    return now >= seenAt + Math.max(record.leaseDurationSeconds, 1) * 1000;
  }

  /**
   * A write that succeeded, sent at `sentAt`. Answered at or past the renew deadline it is dropped, as client-go's
   * deadline cancels such a renewal: by then this process must have stopped acting as holder (tryOnce's catch sees
   * to it), and the others may count the Lease as lapsing. The next attempt finds it still holds the Lease and
   * renews it.
   */
  #renewed(lease: StoredLease, sentAt: number, readAt: number): void {
    const took = this.elapsed() - sentAt;
    if (took >= this.timing.renewDeadlineMs) {
      throw new Error(`the Lease write was answered ${took} ms after the attempt began, past the renew deadline (${this.timing.renewDeadlineMs} ms); not acting on it`);
    }
    this.#observe(lease, readAt);
    this.#lastRenewedAt = sentAt;
    if (!this.#holding) this.#setHolding(true);
    clearTimeout(this.#watchdog);
    this.#watchdog = setTimeout(() => {
      if (this.#holding) this.#setHolding(false);
    }, this.timing.renewDeadlineMs - took);
    this.#watchdog.unref();
  }

  #setHolding(holding: boolean): void {
    this.#holding = holding;
    this.events.onHoldingChange(holding);
  }
}
