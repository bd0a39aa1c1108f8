/**
 * Writes MountPolicy status while this replica holds the Lease: a status
 * describes its whole namespace, so every MountPolicy of a namespace where one
 * was added, changed or deleted, and every one when the cluster policy
 * changed, is judged again and written only when its status would change.
 * One write at a time; a write that fails is retried after a pause, one that
 * lost a race (409) waits for the watch to bring the newer object. Writing a
 * MountPolicy the very status written last time is bounded: at most
 * REPEATS_PER_WINDOW such writes in REPEAT_WINDOW_MS. Such a write puts back a
 * status someone else changed, or one the API server stored otherwise than
 * written, which would else be written again at every watch event, as fast as
 * the round trips go. A status that differs from the last one is never held back.
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
export type WriteStatus = (object: MountPolicyObject, status: MountPolicyStatus) => Promise<void>;

export interface StatusWriterOptions {
  readonly table: MountPolicyTable;
  readonly cluster: { readonly policy: CompiledPolicy };
  readonly write: WriteStatus;
  readonly metrics: Pick<Metrics, 'mountPolicyStatusWrites'>;
  readonly logger: Logger;
  readonly now?: () => Date;
  /** Milliseconds from any fixed point, for the write budget; performance.now() by default. */
  readonly clockMs?: () => number;
  readonly retryDelayMs?: number;
}

/** The same status is written to one MountPolicy again at most this often in REPEAT_WINDOW_MS; more waits for the window to pass. */
export const REPEATS_PER_WINDOW = 3;
export const REPEAT_WINDOW_MS = 60_000;

const key = (ref: MountPolicyRef): string => `${ref.namespace}/${ref.name}`;

export class StatusWriter {
  #holding = false;
  /** namespace/name of the MountPolicies to judge again; a Set, so a burst of events is one write. */
  readonly #dirty = new Set<string>();
  #draining: Promise<void> | undefined;
  #retry: NodeJS.Timeout | undefined;
  #stopped = false;
  /**
   * Each namespace's effective list during one drain, with what it was worked out from: it is the same for every
   * MountPolicy of the namespace, and working it out can take tens of milliseconds.
   */
  readonly #effective = new Map<string, { cluster: CompiledPolicy; policies: readonly CompiledMountPolicy[]; effective: EffectiveHostPaths }>();
  /** namespace/name to a digest of the status last written to it, and the times the same status was written again. */
  readonly #lastWrites = new Map<string, { digest: string; repeats: number[]; warned: boolean }>();

  constructor(private readonly options: StatusWriterOptions) {
    options.table.onChange(({ namespace }) => {
      if (!this.#holding) return;
      // Each status describes the whole namespace: one MountPolicy added, changed or deleted changes the others'.
      for (const entry of options.table.list(namespace)) this.#dirty.add(key(entry.compiled.ref));
      this.#kick();
    });
  }

  /** Lease gained: judge everything. Lease lost: write nothing more. */
  setHolding(holding: boolean): void {
    this.#holding = holding;
    if (holding) this.refreshAll();
    else this.#dirty.clear();
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
    clearTimeout(this.#retry);
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
      clearTimeout(this.#retry);
      this.#retry = setTimeout(() => {
        for (const ref of failed) this.#dirty.add(ref);
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
   * Whether `status` may be written to `ref` now: always when it differs from the status last written there;
   * a repeat only while fewer than REPEATS_PER_WINDOW repeats lie within the window. A write allowed is counted.
   */
  #mayWrite(ref: string, generation: number | undefined, status: MountPolicyStatus): boolean {
    const digest = hash('sha256', canonicalJson(status));
    const last = this.#lastWrites.get(ref);
    if (last === undefined || last.digest !== digest) {
      this.#lastWrites.set(ref, { digest, repeats: [], warned: false });
      return true;
    }
    const nowMs = this.options.clockMs?.() ?? performance.now();
    while (last.repeats.length > 0 && (last.repeats[0] ?? nowMs) <= nowMs - REPEAT_WINDOW_MS) last.repeats.shift();
    if (last.repeats.length < REPEATS_PER_WINDOW) {
      last.repeats.push(nowMs);
      last.warned = false;
      return true;
    }
    if (!last.warned) {
      last.warned = true;
      this.options.logger.warn(
        { mountPolicy: ref, generation, repeats: last.repeats.length, windowSeconds: REPEAT_WINDOW_MS / 1000 },
        'MountPolicy status written again and again without staying (changed by someone else, or stored otherwise than written); the next write waits for the window to pass',
      );
    }
    return false;
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
    if (!this.#mayWrite(ref, compiled.generation, status)) return false;
    try {
      await this.options.write(object, status);
      this.options.metrics.mountPolicyStatusWrites.inc({ result: 'success' });
      this.options.logger.info({ mountPolicy: ref, generation: compiled.generation, ready: status.conditions[0]?.status }, 'MountPolicy status written');
      return true;
    } catch (error) {
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
