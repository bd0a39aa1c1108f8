/**
 * Writes MountPolicy status while this replica holds the Lease: a status
 * describes its whole namespace, so every MountPolicy of a namespace where one
 * was added, changed or deleted, and every one when the cluster policy
 * changed, is judged again and written only when its status would change.
 * One write at a time; a write that fails is retried after a pause, one that
 * lost a race (409) waits for the watch to bring the newer object. Writing a
 * MountPolicy the status written to it last time (condition times aside) is
 * bounded: after REPEATS_PER_WINDOW such writes stored within REPEAT_WINDOW_MS,
 * the next waits. Such a write puts back a status someone else changed, or one
 * the API server stored otherwise than written, which would else be written
 * again at every watch event, as fast as the round trips go. A status that
 * says something else is never held back.
 */
import { hash } from 'node:crypto';
import { setImmediate as nextTurn } from 'node:timers/promises';
import type { Logger } from 'pino';
import type { CompiledPolicy } from '../policy/compile.js';
import { effectiveAllowedHostPaths, type EffectiveHostPaths } from '../policy/effective.js';
import type { CompiledMountPolicy, MountPolicyRef } from '../policy/mount-policy.js';
import type { Metrics } from '../server/metrics.js';
import { statusCodeOf } from './kube-request.js';
import type { CachedMountPolicy, MountPolicyObject, MountPolicyTable } from './mount-policy-cache.js';
import { canonicalJson, desiredStatus, sameStatus, type MountPolicyStatus } from './mount-policy-status.js';

/** Replaces the status subresource of `object` (whose resourceVersion makes it conditional). */
/** Writes a status; ends early, failing, when `signal` aborts (stop(), or the Lease lost). */
export type WriteStatus = (object: MountPolicyObject, status: MountPolicyStatus, signal?: AbortSignal) => Promise<void>;

export interface StatusWriterOptions {
  readonly table: MountPolicyTable;
  readonly cluster: { readonly policy: CompiledPolicy };
  readonly write: WriteStatus;
  readonly metrics: Pick<Metrics, 'mountPolicyStatusWrites'>;
  readonly logger: Logger;
  readonly now?: () => Date;
  /** Milliseconds from any fixed point, for the bound on repeats; performance.now() by default. */
  readonly clockMs?: () => number;
  readonly retryDelayMs?: number;
}

/** The same status is written to one MountPolicy again at most this often in REPEAT_WINDOW_MS; more waits for the window to pass. */
export const REPEATS_PER_WINDOW = 3;
export const REPEAT_WINDOW_MS = 60_000;

/** The status mountgate last stored on one object, and when it stored that same status again since. */
interface LastWrite {
  readonly uid: string;
  readonly digest: string;
  readonly repeats: number[];
  warned: boolean;
}

const key = (ref: MountPolicyRef): string => `${ref.namespace}/${ref.name}`;

export class StatusWriter {
  #holding = false;
  /** namespace/name of the MountPolicies to judge again; a Set, so a burst of events is one write. */
  readonly #dirty = new Set<string>();
  #draining: Promise<void> | undefined;
  #retry: NodeJS.Timeout | undefined;
  #stopped = false;
  /**
   * Aborted by stop() and when the Lease is lost: a write under way ends at once instead of at its request's deadline,
   * by when another replica may hold the Lease.
   */
  #abort = new AbortController();
  /**
   * Each namespace's effective list during one drain, with what it was worked out from: it is the same for every
   * MountPolicy of the namespace, and working it out can take tens of milliseconds.
   */
  readonly #effective = new Map<string, { cluster: CompiledPolicy; policies: readonly CompiledMountPolicy[]; effective: EffectiveHostPaths }>();
  /**
   * namespace/name to the object (uid) and a digest of the status last stored there, and the times the same status
   * was stored again since. Only writes that succeeded count: a failed one changed nothing.
   */
  readonly #lastWrites = new Map<string, LastWrite>();
  /** Held back or failed, to be judged again when the retry timer fires; one timer for all of them. */
  readonly #toRetry = new Set<string>();

  constructor(private readonly options: StatusWriterOptions) {
    options.table.onChange(({ namespace }) => {
      if (!this.#holding) return;
      // Each status describes the whole namespace: one MountPolicy added, changed or deleted changes the others'.
      for (const entry of options.table.list(namespace)) this.#dirty.add(key(entry.compiled.ref));
      this.#kick();
    });
  }

  /** Lease gained: judge everything. Lease lost: write nothing more, ending a write under way. */
  setHolding(holding: boolean): void {
    this.#holding = holding;
    if (holding) {
      if (this.#abort.signal.aborted && !this.#stopped) this.#abort = new AbortController();
      this.refreshAll();
    } else {
      this.#dirty.clear();
      this.#toRetry.clear();
      this.#abort.abort(new Error('the Lease was lost'));
    }
  }

  /** The cluster policy changed: every status may have. */
  refreshAll(): void {
    if (!this.#holding) return;
    for (const entry of this.options.table.list()) this.#dirty.add(key(entry.compiled.ref));
    this.#kick();
  }

  /** Resolves when nothing is left to write (or the writer stopped); for tests and shutdown. */
  async idle(): Promise<void> {
    while (this.#draining !== undefined) await this.#draining;
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    this.#holding = false;
    this.#dirty.clear();
    this.#toRetry.clear();
    clearTimeout(this.#retry);
    this.#retry = undefined;
    this.#abort.abort(new Error('the MountPolicy status writer stopped'));
    await this.idle();
  }

  #kick(): void {
    if (this.#draining !== undefined || this.#stopped) return;
    this.#draining = this.#drain().finally(() => {
      this.#draining = undefined;
      // Queued while the last write was under way, after the loop had looked.
      if (this.#dirty.size > 0 && this.#holding) this.#kick();
    });
  }

  async #drain(): Promise<void> {
    const failed: string[] = [];
    for (let next = this.#take(); next !== undefined && this.#holding; next = this.#take()) {
      const [namespace = '', name = ''] = next.split('/');
      const entry = this.options.table.get({ namespace, name });
      if (entry !== undefined && this.options.table.synced && !(await this.#judge(entry))) failed.push(next);
      // A status that needs no write awaits nothing; without a turn of the event loop here, a namespace of many
      // MountPolicies, or a reload that makes every status stale, would hold back the admission requests meanwhile.
      await nextTurn();
    }
    this.#effective.clear();
    for (const ref of this.#lastWrites.keys()) {
      const [namespace = '', name = ''] = ref.split('/');
      if (this.options.table.get({ namespace, name }) === undefined) this.#lastWrites.delete(ref);
    }
    if (failed.length > 0 && this.#holding && !this.#stopped) {
      // Added to those already waiting, so that one drain's failures never drop another's.
      for (const ref of failed) this.#toRetry.add(ref);
      this.#retry ??= setTimeout(() => {
        this.#retry = undefined;
        for (const ref of this.#toRetry) this.#dirty.add(ref);
        this.#toRetry.clear();
        this.#kick();
      }, this.options.retryDelayMs ?? 5_000);
    }
  }

  #take(): string | undefined {
    const [first] = this.#dirty;
    if (first !== undefined) this.#dirty.delete(first);
    return first;
  }

  /** Worked out again only when the cluster policy or a MountPolicy of the namespace is not the one it was worked out from. */
  #effectiveOf(namespace: string, policies: readonly CompiledMountPolicy[]): EffectiveHostPaths {
    const cluster = this.options.cluster.policy;
    const known = this.#effective.get(namespace);
    if (known !== undefined && known.cluster === cluster && known.policies.length === policies.length && known.policies.every((policy, i) => policy === policies[i])) {
      return known.effective;
    }
    const effective = effectiveAllowedHostPaths(cluster, namespace, policies);
    this.#effective.set(namespace, { cluster, policies, effective });
    return effective;
  }

  /**
   * Whether `status` may be written to `ref` now: always when it says something else than the status last stored
   * there (or the object is another one of the same name); a repeat only while fewer than REPEATS_PER_WINDOW repeats
   * were stored within the window.
   */
  #mayWrite(ref: string, uid: string, generation: number | undefined, digest: string): boolean {
    const last = this.#repeatOf(ref, uid, digest);
    if (last === undefined) return true;
    const nowMs = this.#clockMs();
    while (last.repeats.length > 0 && (last.repeats[0] ?? nowMs) <= nowMs - REPEAT_WINDOW_MS) last.repeats.shift();
    if (last.repeats.length < REPEATS_PER_WINDOW) {
      // Room again: the next time it runs out is worth a warning of its own.
      last.warned = false;
      return true;
    }
    if (!last.warned) {
      last.warned = true;
      this.options.logger.warn(
        { mountPolicy: ref, generation, repeats: last.repeats.length, windowSeconds: REPEAT_WINDOW_MS / 1000 },
        'MountPolicy status stored again and again without staying (changed by someone else, or kept otherwise than written); the next write waits until the oldest of these is a minute old',
      );
    }
    return false;
  }

  /** A write of `digest` to `ref` succeeded: a repeat when it is the status stored there last time. */
  #stored(ref: string, uid: string, digest: string): void {
    const last = this.#repeatOf(ref, uid, digest);
    if (last === undefined) this.#lastWrites.set(ref, { uid, digest, repeats: [], warned: false });
    else last.repeats.push(this.#clockMs());
  }

  /** The record of `ref` when `digest` is the status last stored on the same object (same uid); else undefined. */
  #repeatOf(ref: string, uid: string, digest: string): LastWrite | undefined {
    const last = this.#lastWrites.get(ref);
    return last !== undefined && last.uid === uid && last.digest === digest ? last : undefined;
  }

  #clockMs(): number {
    return this.options.clockMs?.() ?? performance.now();
  }

  /** False when the write failed (or must wait) and should be tried again. */
  async #judge({ object, compiled }: CachedMountPolicy): Promise<boolean> {
    // Condition times are whole seconds (metav1.Time).
    const now = (this.options.now?.() ?? new Date()).toISOString().replace(/\.\d+Z$/, 'Z');
    const all = this.options.table.list(compiled.ref.namespace).map((entry) => entry.compiled);
    const siblings = all.filter((policy) => policy.ref.name !== compiled.ref.name);
    const status = desiredStatus(this.options.cluster.policy, compiled, siblings, object.status, now, this.#effectiveOf(compiled.ref.namespace, all));
    if (sameStatus(object.status, status)) return true;
    const ref = key(compiled.ref);
    const digest = statusDigest(status);
    if (!this.#mayWrite(ref, compiled.uid, compiled.generation, digest)) return false;
    const { signal } = this.#abort;
    try {
      await this.options.write(object, status, signal);
      this.#stored(ref, compiled.uid, digest);
      this.options.metrics.mountPolicyStatusWrites.inc({ result: 'success' });
      this.options.logger.info({ mountPolicy: ref, generation: compiled.generation, ready: status.conditions[0]?.status }, 'MountPolicy status written');
      return true;
    } catch (error) {
      // Ended by stop() or the Lease lost: no failure, and nothing to try again.
      if (signal.aborted) return true;
      const code = statusCodeOf(error);
      if (code === 409) {
        // The object changed since it was cached; its watch event queues it again.
        this.options.metrics.mountPolicyStatusWrites.inc({ result: 'conflict' });
        return true;
      }
      if (code === 404) return true;
      this.options.metrics.mountPolicyStatusWrites.inc({ result: 'failure' });
      this.options.logger.warn({ mountPolicy: ref, err: String(error) }, 'MountPolicy status not written; trying again');
      return false;
    }
  }
}

/**
 * What a status says, as a digest: its canonical JSON without the conditions' lastTransitionTime, which a writer that
 * keeps flipping Ready back would move at every round, making each of mountgate's answers look new.
 */
function statusDigest(status: MountPolicyStatus): string {
  const conditions = status.conditions.map(({ lastTransitionTime: _time, ...rest }) => rest);
  return hash('sha256', canonicalJson({ ...status, conditions }));
}
