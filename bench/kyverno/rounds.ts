/**
 * Pod CREATEs one at a time, taking turns between namespaces in rotating
 * order, so that drift on the machine hits every side alike; each create is
 * timed and checked for whether it was mutated as its side should be.
 */
import type { V1Pod } from '@kubernetes/client-node';
import { LatencyRecorder, type LatencySummary } from '../load/latency.js';

export interface Side {
  readonly namespace: string;
  /** Whether a Pod created here must come back with injected volumes. */
  readonly injects: boolean;
}

export class AlternatingCreates {
  private readonly recorders: LatencyRecorder[];

  constructor(
    private readonly sides: readonly Side[],
    private readonly create: (namespace: string) => Promise<V1Pod>,
    private readonly injected: (pod: V1Pod) => boolean,
  ) {
    this.recorders = sides.map(() => new LatencyRecorder());
  }

  /** Runs up to `rounds` rounds (one create per side each) before the deadline; returns how many ran. */
  async run(rounds: number, measured: boolean, deadline: number, log?: (line: string) => void): Promise<number> {
    let done = 0;
    for (; done < rounds && Date.now() < deadline; done++) {
      for (let k = 0; k < this.sides.length; k++) {
        const index = (done + k) % this.sides.length;
        const side = this.sides[index];
        const recorder = this.recorders[index];
        if (side === undefined || recorder === undefined) continue;
        const started = performance.now();
        const created = await this.create(side.namespace);
        const elapsed = performance.now() - started;
        if (measured) recorder.record(elapsed);
        if (this.injected(created) !== side.injects) throw new Error(`a Pod in ${side.namespace} was ${side.injects ? 'not ' : ''}mutated`);
      }
      if (log !== undefined && (done + 1) % 100 === 0) log(`  ${done + 1} rounds of Pods created`);
    }
    return done;
  }

  /** The measured latencies, in the order of the sides. */
  summaries(): LatencySummary[] {
    return this.recorders.map((recorder) => recorder.summary());
  }
}
