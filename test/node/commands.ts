/** Runs the host's tools (ip, ctr, umount, helm, ...) without blocking the event loop. */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);

export interface Output {
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs a command; throws with its output when it fails or outlasts timeoutMs. */
export async function run(command: string, args: readonly string[], timeoutMs = 60_000, env?: NodeJS.ProcessEnv): Promise<Output> {
  try {
    const { stdout, stderr } = await execFileAsync(command, args, {
      timeout: timeoutMs,
      maxBuffer: 64 * 1024 * 1024,
      env: env ?? process.env,
    });
    return { stdout, stderr };
  } catch (error) {
    const detail = error instanceof Error ? error.message : String(error);
    throw new Error(`${command} ${args.join(' ')} failed: ${detail}`);
  }
}

/** Runs a command whose failure is expected and harmless (removing what may not exist). */
export async function runQuietly(command: string, args: readonly string[], timeoutMs = 60_000): Promise<void> {
  try {
    await run(command, args, timeoutMs);
  } catch {
    // nothing to undo
  }
}
