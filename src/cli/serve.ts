/** `mountgate serve`: the webhook process, with its signals. */
import { start } from '../server/index.js';
import { createLogger } from '../server/logger.js';
import { parseServeArgs } from './serve-options.js';
import { EXIT_OK } from './usage.js';

/** Resolves with the exit code once the server has drained after SIGTERM or SIGINT. */
export async function serve(argv: readonly string[], env: NodeJS.ProcessEnv): Promise<number> {
  const settings = parseServeArgs(argv, env);
  const logger = createLogger(settings.logLevel);
  const server = await start({ ...settings, logger });

  await new Promise<void>((resolve) => {
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
  logger.flush();
  return EXIT_OK;
}
