/**
 * Notices when files change by reading them on an interval and comparing
 * their contents. Polling, unlike fs.watch, also sees the atomic symlink swap
 * by which the kubelet updates mounted Secrets and ConfigMaps, and files
 * replaced by rename; these files are small, so reading them is cheap.
 *
 * A file rewritten in place can be read half-written, and a policy cut at a
 * line end is often still valid, and wider (its `requesters` or `readOnly`
 * lines gone). So new contents are applied only once the next read, an
 * interval later, gives the same: a change takes two intervals to apply.
 */
import { readFile } from 'node:fs/promises';

export interface FilePoller {
  stop(): void;
}

/** The contents in force, and new contents read once and waiting for a second read to agree. */
export interface Settling {
  readonly seen: readonly string[];
  readonly pending: readonly string[] | undefined;
}

const same = (a: readonly string[], b: readonly string[]): boolean => a.length === b.length && a.every((content, index) => content === b[index]);

/** What one read of the files does: `apply` when it confirms the pending contents. */
export function afterRead(state: Settling, contents: readonly string[]): { readonly state: Settling; readonly apply: boolean } {
  if (same(contents, state.seen)) return { state: { seen: state.seen, pending: undefined }, apply: false };
  if (state.pending === undefined || !same(contents, state.pending)) return { state: { seen: state.seen, pending: contents }, apply: false };
  return { state: { seen: contents, pending: undefined }, apply: true };
}

/**
 * Calls `onChange` with the new contents once any of `files` differs from
 * what was last seen, the same on two reads in a row. A file that cannot be
 * read is skipped until it can.
 */
export function pollFiles(
  files: readonly string[],
  initial: readonly string[],
  intervalMs: number,
  onChange: (contents: readonly string[]) => Promise<void>,
): FilePoller {
  let state: Settling = { seen: [...initial], pending: undefined };
  let busy = false;
  const timer = setInterval(() => {
    if (busy) return;
    busy = true;
    void Promise.all(files.map((file) => readFile(file, 'utf8')))
      .then(async (contents) => {
        const read = afterRead(state, contents);
        state = read.state;
        if (read.apply) await onChange(contents);
      })
      .catch(() => {
        // Missing mid-swap or unreadable: keep what is in force and look again next tick.
      })
      .finally(() => {
        busy = false;
      });
  }, intervalMs);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}
