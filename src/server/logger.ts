/** JSON logs. Writes are asynchronous so logging stays off the request's path. */
import { pino, type Logger } from 'pino';
import { isoLogTime } from './log-time.js';

export type { Logger };

export function createLogger(level = 'info'): Logger {
  return pino(
    { level, base: { service: 'mountgate' }, timestamp: isoLogTime(), formatters: { level: (label) => ({ level: label }) } },
    pino.destination({ dest: 1, sync: false }),
  );
}

/** For tests and the check command: no output. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
