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
import { spawn, type ChildProcess } from 'node:child_process';
import { parseArgs } from 'node:util';
import { constants } from 'node:os';
import { setUp } from '../env.js';

const USAGE = 'usage: node --import tsx test/e2e/tools/with-cluster.ts -- COMMAND [ARG...]';

const SIGNALS: readonly NodeJS.Signals[] = ['SIGINT', 'SIGTERM'];

/**
 * SIGINT and SIGTERM, from the first moment: forwarded to the command while it runs; before that,
 * remembered, so that the environment is still torn down and the command never started.
 */
class Signals {
  received: NodeJS.Signals | undefined;
  private child: ChildProcess | undefined;
  private readonly handler = (signal: NodeJS.Signals): void => {
    this.received ??= signal;
    this.child?.kill(signal);
  };

  constructor() {
    for (const signal of SIGNALS) process.on(signal, this.handler);
  }

  status(): number {
    return this.received === undefined ? 0 : 128 + constants.signals[this.received];
  }

  run(command: string, args: readonly string[], env: NodeJS.ProcessEnv): Promise<number> {
    return new Promise((resolve, reject) => {
      const child = spawn(command, args, { stdio: 'inherit', env });
      this.child = child;
      child.on('error', reject);
      child.on('exit', (code, signal) => {
        this.child = undefined;
        resolve(code ?? 128 + (signal === null ? 0 : constants.signals[signal]));
      });
    });
  }
}

async function main(): Promise<number> {
  const signals = new Signals();
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
    if (signals.received !== undefined) return signals.status();
    console.log(
      `with-cluster: ${env.cp.existing ? 'existing cluster' : 'local etcd + kube-apiserver'} at ${env.cp.server}; ` +
        `mountgate at ${env.mountgate.url}; webhook configurations ${env.webhookSource}; ` +
        `namespace ${env.enabledNs}; ready in ${((Date.now() - started) / 1000).toFixed(1)} s`,
    );
    return await signals.run(command, args, {
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
