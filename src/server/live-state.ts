/**
 * The one place hot-reloaded state lives: the policy in force and the
 * serving certificate. Readers take a snapshot per request; a reload swaps
 * the reference, so a request never sees half of a change.
 */
import type { CompiledPolicy } from '../policy/compile.js';
import type { TlsMaterial } from './tls-material.js';

export class LiveState {
  #policy: CompiledPolicy;
  #tls: TlsMaterial;
  readonly #tlsListeners: Array<(tls: TlsMaterial) => void> = [];
  readonly #policyListeners: Array<(policy: CompiledPolicy) => void> = [];

  constructor(policy: CompiledPolicy, tls: TlsMaterial) {
    this.#policy = policy;
    this.#tls = tls;
  }

  get policy(): CompiledPolicy {
    return this.#policy;
  }

  get tls(): TlsMaterial {
    return this.#tls;
  }

  setPolicy(policy: CompiledPolicy): void {
    this.#policy = policy;
    for (const listener of this.#policyListeners) listener(policy);
  }

  setTls(tls: TlsMaterial): void {
    this.#tls = tls;
    for (const listener of this.#tlsListeners) listener(tls);
  }

  onTlsChange(listener: (tls: TlsMaterial) => void): void {
    this.#tlsListeners.push(listener);
  }

  onPolicyChange(listener: (policy: CompiledPolicy) => void): void {
    this.#policyListeners.push(listener);
  }
}
