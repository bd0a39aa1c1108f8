/**
 * Which built `mountgate` entry the stress tests run. The built JavaScript,
 * not tsx, so that start-up time and memory are the product's own. dist/ is
 * used when it is newer than every source file (CI builds first); otherwise
 * the sources are compiled once into a private cache directory, leaving
 * dist/ alone for whoever else is building.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

const ROOT = process.cwd();
const DIST_MAIN = join(ROOT, 'dist/cli/main.js');
const CACHE_DIST = join(ROOT, 'node_modules/.cache/mountgate-stress/dist');

let chosen: string | undefined;

function newestSourceMtime(dir: string): number {
  let newest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestSourceMtime(path) : statSync(path).mtimeMs);
  }
  return newest;
}

export function serverEntry(): string {
  if (chosen !== undefined) return chosen;
  const sources = newestSourceMtime(join(ROOT, 'src'));
  if (existsSync(DIST_MAIN) && statSync(DIST_MAIN).mtimeMs >= sources) {
    chosen = DIST_MAIN;
    return chosen;
  }
  const cached = join(CACHE_DIST, 'cli/main.js');
  if (!existsSync(cached) || statSync(cached).mtimeMs < sources) {
    execFileSync(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-p', 'tsconfig.build.json', '--outDir', CACHE_DIST], {
      cwd: ROOT,
      stdio: 'inherit',
      timeout: 180_000,
    });
  }
  chosen = cached;
  return chosen;
}
