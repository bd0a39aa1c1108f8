/** Section 3 from the orchestrator's side: run bench/core/worker.ts pinned, then judge growth. */
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import path from 'node:path';
import type { BenchConfig } from './config.js';
import { SERVER_CORE } from './config.js';
import { serverNode } from './processes.js';
import type { CoreCase, CoreSection } from './core/worker.js';
import { watchInterference } from './machine.js';
import { REPO_ROOT } from './workspace.js';

/**
 * Linear growth means each extra container-and-mount costs the same whether
 * the Pod has 1 or 100: the marginal cost from 1 to 10 and from 10 to 100 match.
 * Quadratic growth would make the second ten times the first.
 */
export interface Growth {
  readonly stage: 'mutate' | 'validate';
  /** (t(10) - t(1)) / 9, ns per extra container and mount. */
  readonly marginalNs1to10: number;
  /** (t(100) - t(10)) / 90. */
  readonly marginalNs10to100: number;
  /** marginalNs10to100 / marginalNs1to10: about 1 when linear, about 10 when quadratic. */
  readonly marginalRatio: number;
}

export interface CoreResults extends CoreSection {
  readonly growth: readonly Growth[];
  /** CPU used by other processes while the cases ran, % of one core. */
  readonly otherCpuPercent: number;
}

export async function runCoreSection(config: BenchConfig): Promise<CoreResults> {
  const worker = path.join(REPO_ROOT, 'bench', 'core', 'worker.ts');
  // About fifteen cases, each within its budget plus calibration; the limit is only a backstop.
  const timeoutMs = 60_000 + config.coreCaseMs * 40;
  const child = spawn('taskset', ['-c', SERVER_CORE, serverNode(), '--import', 'tsx', worker, String(config.coreCaseMs)], {
    cwd: REPO_ROOT,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  try {
    // Once the worker has exited, its time counts as this process's children's: ours either way.
    const interference = watchInterference(child.pid === undefined ? [] : [child.pid]);
    const chunks: Buffer[] = [];
    child.stdout.on('data', (chunk: Buffer) => chunks.push(chunk));
    const [code] = (await once(child, 'exit')) as [number | null];
    const { otherCpuPercent } = interference();
    if (code !== 0) throw new Error(`the core benchmark exited with code ${code}`);
    const section = JSON.parse(Buffer.concat(chunks).toString('utf8')) as CoreSection;
    return { ...section, growth: (['mutate', 'validate'] as const).map((stage) => fit(stage, section.cases)), otherCpuPercent };
  } finally {
    clearTimeout(timer);
  }
}

function fit(stage: 'mutate' | 'validate', cases: readonly CoreCase[]): Growth {
  const at = (size: number): number => {
    const found = cases.find((c) => c.stage === stage && c.size === size);
    if (found === undefined) throw new Error(`no ${stage} case of size ${size}`);
    return found.timing.medianNs;
  };
  const marginalNs1to10 = (at(10) - at(1)) / 9;
  const marginalNs10to100 = (at(100) - at(10)) / 90;
  return { stage, marginalNs1to10, marginalNs10to100, marginalRatio: marginalNs10to100 / marginalNs1to10 };
}
