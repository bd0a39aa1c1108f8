/** Section 3 from the orchestrator's side: run bench/core/worker.ts pinned, then judge growth. */
import { execFile } from 'node:child_process';
import path from 'node:path';
import { promisify } from 'node:util';
import type { BenchConfig } from './config.js';
import { SERVER_CORE } from './config.js';
import type { CoreCase, CoreSection } from './core/worker.js';
import { REPO_ROOT } from './workspace.js';

const execFileAsync = promisify(execFile);

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
}

export async function runCoreSection(config: BenchConfig): Promise<CoreResults> {
  const worker = path.join(REPO_ROOT, 'bench', 'core', 'worker.ts');
  // About 13 cases, each within its budget plus calibration; the limit is only a backstop.
  const timeout = 60_000 + config.coreCaseMs * 40;
  const { stdout } = await execFileAsync('taskset', ['-c', SERVER_CORE, process.execPath, '--import', 'tsx', worker, String(config.coreCaseMs)], {
    cwd: REPO_ROOT,
    timeout,
    maxBuffer: 16 * 1024 * 1024,
  });
  const section = JSON.parse(stdout) as CoreSection;
  return { ...section, growth: (['mutate', 'validate'] as const).map((stage) => fit(stage, section.cases)) };
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
