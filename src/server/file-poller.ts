/**
 * Notices when files change by reading them on an interval and comparing
 * their contents. Polling, unlike fs.watch, also sees the atomic symlink swap
 * by which the kubelet updates mounted Secrets and ConfigMaps, and files
 * replaced by rename; these files are small, so reading them is cheap.
 */
import { readFile } from 'node:fs/promises';

export interface FilePoller {
  stop(): void;
}

/**
 * Calls `onChange` with the new contents whenever any of `files` differs from
 * what was last seen. A file that cannot be read is skipped until it can.
 */
export function pollFiles(
  files: readonly string[],
  initial: readonly string[],
  intervalMs: number,
  onChange: (contents: readonly string[]) => Promise<void>,
): FilePoller {
  let seen = [...initial];
  let busy = false;
  const timer = setInterval(() => {
    if (busy) return;
    busy = true;
    void Promise.all(files.map((file) => readFile(file, 'utf8')))
      .then(async (contents) => {
        if (contents.every((content, index) => content === seen[index])) return;
        seen = contents;
        await onChange(contents);
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
