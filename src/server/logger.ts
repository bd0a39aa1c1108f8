/** JSON logs. Writes are asynchronous so logging stays off the request's path. */
import { pino, type Logger } from 'pino';
import { isoLogTime } from './log-time.js';

export type { Logger };

/**
 * Called once when stdout refuses a write of the log (ENOSPC on a full disk, EIO on a terminal gone):
 * the log is lost from then on and the logger must not be used again (a write would throw), so this
 * ends the process.
 */
export type LogLost = (error: NodeJS.ErrnoException) => void;

/**
 * `onLost` is told of a write error other than EPIPE. EPIPE (the reader went away) stays pino's own case:
 * it stops writing and the process goes on. Without a listener any other error would be thrown with no
 * one to catch it, and pino's flush at exit would then retry the refused write for ever: the process hung.
 */
export function createLogger(level: string, onLost: LogLost): Logger {
  const destination = pino.destination({ dest: 1, sync: false });
  let lost = false;
  destination.on('error', (error: NodeJS.ErrnoException) => {
    // pino's listener, first in line, passes an error other than EPIPE on, then the same emit reaches
    // this one again: a second call is that one.
    if (error.code === 'EPIPE' || lost) return;
    lost = true;
    // What is buffered is dropped and the exit-time flush skips a destroyed destination, so exiting
    // does not hang on a write that keeps failing. The logger must not be used after this.
    destination.destroy();
    onLost(error);
  });
  return pino({ level, base: { service: 'mountgate' }, timestamp: isoLogTime(), formatters: { level: (label) => ({ level: label }) } }, destination);
}

/** For tests and the check command: no output. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
