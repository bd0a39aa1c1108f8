/**
 * Notices when files change by reading them on an interval and comparing
 * their contents. Polling, unlike fs.watch, also sees the atomic symlink swap
 * by which the kubelet updates mounted Secrets and ConfigMaps, and files
 * replaced by rename; these files are small, so reading them is cheap.
 *
 * A file rewritten in place can be read half-written, and a policy cut at a
 * line end is often still valid, and wider (its `requesters` or `readOnly`
 * lines gone). So new contents are applied only once the next read, an
 * interval later, gives the same: a change takes two intervals to apply. A
 * read that fails between the two (the file gone mid-swap, or written anew)
 * breaks the pair.
 */
import { readUtf8File } from '../policy/strict-text.js';

export interface FilePoller {
  stop(): void;
}

/** The contents in force, and new contents read once and waiting for a second read to agree. */
export interface Settling {
  readonly seen: readonly string[];
  readonly pending: readonly string[] | undefined;
}

const same = (a: readonly string[], b: readonly string[]): boolean => a.length === b.length && a.every((content, index) => content === b[index]);

/**
 * What one read of the files does: `apply` when it confirms the pending contents. A read that failed (`undefined`)
 * drops them: the files were not left alone between the two reads, so a change waits for two in a row once more.
 */
export function afterRead(state: Settling, contents: readonly string[] | undefined): { readonly state: Settling; readonly apply: boolean } {
  if (contents === undefined) return { state: { seen: state.seen, pending: undefined }, apply: false };
  if (same(contents, state.seen)) return { state: { seen: state.seen, pending: undefined }, apply: false };
  if (state.pending === undefined || !same(contents, state.pending)) return { state: { seen: state.seen, pending: contents }, apply: false };
  return { state: { seen: contents, pending: undefined }, apply: true };
}

/** Failed reads in a row before the files are said to be unreadable: a single one is often a swap caught midway. */
export const UNREADABLE_AFTER = 2;

/**
 * What is worth saying after a read: that the files have become unreadable, or readable again after that; and, once
 * they have been unreadable, when they are `settled` again: read as they were when last taken or refused, or with a
 * change among them just taken or refused (not while a change read since waits for a second read).
 */
export type ReadEvent = { readonly kind: 'unreadable'; readonly error: unknown } | { readonly kind: 'readable-again' } | { readonly kind: 'settled' };

/** `failuresBefore` failed reads in a row, then this one: the unreadable or readable-again event it makes, if any (once per streak). */
export function readEvent(failuresBefore: number, error: unknown): Exclude<ReadEvent, { kind: 'settled' }> | undefined {
  if (error !== undefined) return failuresBefore + 1 === UNREADABLE_AFTER ? { kind: 'unreadable', error } : undefined;
  return failuresBefore >= UNREADABLE_AFTER ? { kind: 'readable-again' } : undefined;
}

/**
 * Calls `onChange` with the new contents once any of `files` differs from
 * what was last seen, the same on two reads in a row (no failed read between). `read` reads each file
 * as start read it (by default strictly as UTF-8). A file that cannot be read is skipped until it can:
 * `onRead` hears once when the files have been unreadable for UNREADABLE_AFTER reads, once when they
 * are read again, and once when they are settled.
 */
export function pollFiles(
  files: readonly string[],
  initial: readonly string[],
  intervalMs: number,
  onChange: (contents: readonly string[]) => Promise<void>,
  onRead: (event: ReadEvent) => void = () => undefined,
  read: (file: string) => Promise<string> = readUtf8File,
): FilePoller {
  const readOnce = filesReader(files, initial, onChange, onRead, read);
  let busy = false;
  const timer = setInterval(() => {
    if (busy) return;
    busy = true;
    void readOnce()
      .catch(() => {
        // onChange answers its own errors; nothing else may stop the polling.
      })
      .finally(() => {
        busy = false;
      });
  }, intervalMs);
  timer.unref();
  return { stop: () => clearInterval(timer) };
}

/** One read of `files` and what follows from it, as pollFiles does each interval; `read` reads one file. */
export function filesReader(
  files: readonly string[],
  initial: readonly string[],
  onChange: (contents: readonly string[]) => Promise<void>,
  onRead: (event: ReadEvent) => void,
  read: (file: string) => Promise<string> = readUtf8File,
): () => Promise<void> {
  let state: Settling = { seen: [...initial], pending: undefined };
  let failures = 0;
  /** Said unreadable, and not settled since. */
  let unsettled = false;
  const note = (error: unknown): void => {
    const event = readEvent(failures, error);
    failures = error === undefined ? 0 : failures + 1;
    if (event?.kind === 'unreadable') unsettled = true;
    if (event !== undefined) onRead(event);
  };
  return () =>
    Promise.all(files.map(read)).then(
      async (contents) => {
        note(undefined);
        const next = afterRead(state, contents);
        state = next.state;
        if (next.apply) await onChange(contents);
        if (unsettled && state.pending === undefined) {
          unsettled = false;
          onRead({ kind: 'settled' });
        }
      },
      // Missing mid-swap, unreadable or not UTF-8: keep what is in force and look again next tick.
      (error: unknown) => {
        note(error ?? new Error('unreadable'));
        state = afterRead(state, undefined).state;
      },
    );
}
