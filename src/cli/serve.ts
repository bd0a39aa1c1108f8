/** `mountgate serve`: the webhook process, with its signals. */
import { start, type RunningServer } from '../server/index.js';
import { createLogger, type Logger } from '../server/logger.js';
import { parseServeArgs } from './serve-options.js';
import { EXIT_OK } from './usage.js';

/** Resolves with the exit code once the server has drained after SIGTERM or SIGINT. */
export async function serve(argv: readonly string[], env: NodeJS.ProcessEnv): Promise<number> {
  const settings = parseServeArgs(argv, env);
  const logger = createLogger(settings.logLevel);
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
