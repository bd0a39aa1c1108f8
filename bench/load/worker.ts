/**
 * The load generator process, started pinned to its own core. It takes jobs
 * over IPC one at a time and answers each with a LoadResult, until the
 * orchestrator disconnects.
 */
import { closedLoop } from './closed-loop.js';
import type { LoadJob, LoadResult, WorkerMessage } from './jobs.js';
import { vegeta } from './vegeta.js';

function run(job: LoadJob): Promise<LoadResult> {
  switch (job.kind) {
    case 'closed':
      return closedLoop(job);
    case 'vegeta':
      return vegeta(job);
  }
}

if (process.send === undefined) {
  process.stderr.write('bench/load/worker.ts runs only as a child with an IPC channel\n');
  process.exit(2);
}

let queue = Promise.resolve();
process.on('message', (job: LoadJob) => {
  queue = queue.then(async () => {
    let message: WorkerMessage;
    try {
      message = { ok: true, result: await run(job) };
    } catch (error) {
      message = { ok: false, error: error instanceof Error ? (error.stack ?? error.message) : String(error) };
    }
    process.send?.(message);
  });
});
process.on('disconnect', () => process.exit(0));
