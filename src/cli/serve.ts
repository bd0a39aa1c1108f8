/** `mountgate serve`: the webhook process, with its signals. */
import { writeSync } from 'node:fs';
import { start, type RunningServer } from '../server/index.js';
import { createLogger, type Logger } from '../server/logger.js';
import { parseServeArgs } from './serve-options.js';
import { escapeControl, EXIT_OK, EXIT_USAGE, firstLine } from './usage.js';

/** Resolves with the exit code once the server has drained after SIGTERM or SIGINT; a log that cannot be written ends the process (exit 2). */
export async function serve(argv: readonly string[], env: NodeJS.ProcessEnv): Promise<number> {
  const settings = parseServeArgs(argv, env);
  const logger = createLogger(settings.logLevel, stopOnLostLog);
  const server = await start({ ...settings, logger });

  // Node's default for SIGHUP ends the process at once, dropping requests in flight. Many daemons take
  // `kill -HUP` as "reload"; here the files are re-read on their own, so it is said and otherwise ignored.
  const onHangup = (): void => {
    logger.info({ signal: 'SIGHUP', reloadIntervalMs: settings.reloadIntervalMs }, 'SIGHUP ignored: mountgate re-reads its files every --reload-interval');
  };
  process.on('SIGHUP', onHangup);
  try {
    await untilStopped(server, logger);
  } finally {
    process.off('SIGHUP', onHangup);
  }
  logger.flush();
  return EXIT_OK;
}

function untilStopped(server: RunningServer, logger: Logger): Promise<void> {
  return new Promise<void>((resolve) => {
    const onSignal = (signal: NodeJS.Signals): void => {
      logger.info({ signal }, 'signal received');
      process.off('SIGTERM', onSignal).off('SIGINT', onSignal);
      // A second signal while draining cuts the delay short.
      const hurry = (): void => {
        logger.info('second signal: closing without waiting for the shutdown delay');
        void server.stop();
      };
      process.once('SIGTERM', hurry).once('SIGINT', hurry);
      server.drain().then(resolve, resolve);
    };
    process.on('SIGTERM', onSignal).on('SIGINT', onSignal);
  });
}

/**
 * stdout refuses the log (ENOSPC, EIO; EPIPE never comes here): the decision log is the audit trail, so
 * the webhook stops at once rather than serve unheard, and Kubernetes restarts a container that exits.
 * Exit 2, as for any failure that is no verdict: 1 says that a Pod is denied. The line is written to
 * fd 2 synchronously, so that it is out before process.exit; requests in flight are cut, and the API
 * server's failurePolicy decides them.
 */
function stopOnLostLog(error: NodeJS.ErrnoException): never {
  try {
    writeSync(2, `mountgate: cannot write the log to stdout: ${escapeControl(firstLine(error))}; stopping\n`);
  } catch {
    // stderr refuses too: the exit code is all that is left to say it.
  }
  process.exit(EXIT_USAGE);
}
