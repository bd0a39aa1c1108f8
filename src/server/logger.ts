/** JSON logs. Writes are asynchronous so logging stays off the request's path. */
import { pino, type Logger } from 'pino';

export type { Logger };

export function createLogger(level = 'info'): Logger {
  return pino(
    { level, base: { service: 'mountgate' }, timestamp: pino.stdTimeFunctions.isoTime, formatters: { level: (label) => ({ level: label }) } },
    pino.destination({ dest: 1, sync: false }),
  );
}

/** For tests and the check command: no output. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
