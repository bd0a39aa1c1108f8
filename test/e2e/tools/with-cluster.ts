/**
 * Runs one command against the environment of the end-to-end suite: etcd + kube-apiserver (or the
 * existing cluster, as test/e2e/README.md says), mountgate serving dist/cli/main.js with the
 * suite's policy, its webhook configurations registered, and a namespace the webhooks select.
 * Clients in other languages test against the same API server this way.
 *
 *   node --import tsx test/e2e/tools/with-cluster.ts -- COMMAND [ARG...]
 *
 * The command runs with, in its environment:
 *   KUBECONFIG                         a kubeconfig with cluster-admin rights
 *   MOUNTGATE_TEST_NAMESPACE           a namespace the webhooks select (label mountgate.io/enabled=true)
 *   MOUNTGATE_TEST_EXCLUDED_NAMESPACE  a namespace they do not select
 *   MOUNTGATE_TEST_MUTATE_WEBHOOK      the webhooks' names, as the API server quotes them in denials
 *   MOUNTGATE_TEST_VALIDATE_WEBHOOK
 * and everything is stopped and removed afterwards, however the command ends. The exit status is
 * the command's (128 + the signal number when a signal ended it).
 */
import { spawn } from 'node:child_process';
import { parseArgs } from 'node:util';
import { constants } from 'node:os';
import { setUp } from '../env.js';

const USAGE = 'usage: node --import tsx test/e2e/tools/with-cluster.ts -- COMMAND [ARG...]';

function run(command: string, args: readonly string[], env: NodeJS.ProcessEnv): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: 'inherit', env });
    const forward = (signal: NodeJS.Signals): void => {
      child.kill(signal);
    };
    const signals: NodeJS.Signals[] = ['SIGINT', 'SIGTERM'];
    for (const signal of signals) process.on(signal, forward);
    const done = (): void => {
      for (const signal of signals) process.off(signal, forward);
    };
    child.on('error', (error) => {
      done();
      reject(error);
    });
    child.on('exit', (code, signal) => {
      done();
      resolve(code ?? 128 + (signal === null ? 0 : constants.signals[signal]));
    });
  });
}

async function main(): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({ options: {}, allowPositionals: true, strict: true });
  } catch (error) {
    console.error(`${error instanceof Error ? error.message : String(error)}\n${USAGE}`);
    return 2;
  }
  const [command, ...args] = parsed.positionals;
  if (command === undefined) {
    console.error(USAGE);
    return 2;
  }

  const started = Date.now();
  const { env, tearDown } = await setUp();
  try {
    console.log(
      `with-cluster: ${env.cp.existing ? 'existing cluster' : 'local etcd + kube-apiserver'} at ${env.cp.server}; ` +
        `mountgate at ${env.mountgate.url}; webhook configurations ${env.webhookSource}; ` +
        `namespace ${env.enabledNs}; ready in ${((Date.now() - started) / 1000).toFixed(1)} s`,
    );
    return await run(command, args, {
      ...process.env,
      KUBECONFIG: env.cp.kubeconfigPath,
      MOUNTGATE_TEST_NAMESPACE: env.enabledNs,
      MOUNTGATE_TEST_EXCLUDED_NAMESPACE: env.excludedNs,
      MOUNTGATE_TEST_MUTATE_WEBHOOK: env.mutateWebhook,
      MOUNTGATE_TEST_VALIDATE_WEBHOOK: env.validateWebhook,
    });
  } finally {
    await tearDown();
  }
}

main().then(
  (status) => process.exit(status),
  (error: unknown) => {
    console.error(error);
    process.exit(1);
  },
);
