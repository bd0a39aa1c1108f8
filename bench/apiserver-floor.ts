/**
 * The floor for the API-server comparison: the ceiling server
 * (bench/ceiling-server.ts) registered as a mutating and a validating webhook
 * for a namespace of its own, with the same webhook configurations as mountgate
 * (test/e2e/webhooks.ts) under other names. It answers at once, with a
 * one-operation patch that marks the Pod, so whatever time it adds to a Pod
 * CREATE is the API server's price of calling two webhooks at all.
 */
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { V1MutatingWebhookConfiguration, V1ValidatingWebhookConfiguration } from '@kubernetes/client-node';
import { uniqueName, type E2E } from '../test/e2e/env.js';
import { webhookConfigurations } from '../test/e2e/webhooks.js';
import { startCeiling, type ServerProcess } from './processes.js';

/** The label the floor webhooks select namespaces by, and the label their patch puts on each Pod. */
const FLOOR_LABEL = 'bench.mountgate.io/floor';
export const MARK_LABEL = 'bench.mountgate.io/seen-by-floor';
const FLOOR_NAME = 'mountgate-bench-floor';

export interface Floor {
  readonly namespace: string;
  /** The server's process, to place it on a core (apiserver-pinning.ts). */
  readonly pid: number;
  stop(): Promise<void>;
}

/** Copies of mountgate's configurations, pointed at the floor server and its namespace. */
function retarget<T extends V1MutatingWebhookConfiguration | V1ValidatingWebhookConfiguration>(config: T, kind: string): T {
  const copy = structuredClone(config);
  copy.metadata = { name: FLOOR_NAME };
  // Names must differ within a configuration (the chart's validating one has more than one webhook).
  for (const [index, webhook] of (copy.webhooks ?? []).entries()) {
    webhook.name = index === 0 ? `${kind}.floor.bench.mountgate.io` : `${kind}-${index}.floor.bench.mountgate.io`;
    webhook.namespaceSelector = { matchLabels: { [FLOOR_LABEL]: 'true' } };
  }
  return copy;
}

export async function startFloor(env: E2E): Promise<Floor> {
  const cleanups: Array<() => Promise<unknown>> = [];
  const stop = async (): Promise<void> => {
    for (const cleanup of cleanups.reverse()) await cleanup().catch(() => undefined);
  };
  try {
    const patchFile = path.join(env.dir, 'floor-patch.b64');
    const mark = [{ op: 'add', path: `/metadata/labels/${MARK_LABEL.replace('/', '~1')}`, value: 'yes' }];
    await writeFile(patchFile, Buffer.from(JSON.stringify(mark)).toString('base64'));
    const server: ServerProcess = await startCeiling({ certPath: env.tls.cert, keyPath: env.tls.key, patchFile, pinned: false });
    cleanups.push(() => server.stop());

    const namespace = uniqueName('mg-bench-floor');
    await env.core.createNamespace({ body: { metadata: { name: namespace, labels: { [FLOOR_LABEL]: 'true' } } } });
    cleanups.push(() => env.core.deleteNamespace({ name: namespace }));

    const rendered = await webhookConfigurations({ url: `https://127.0.0.1:${server.port}`, caBundle: env.tls.caPem.toString('base64'), dir: env.dir });
    await env.admissionApi.createMutatingWebhookConfiguration({ body: retarget(rendered.mutating, 'mutate') });
    cleanups.push(() => env.admissionApi.deleteMutatingWebhookConfiguration({ name: FLOOR_NAME }));
    await env.admissionApi.createValidatingWebhookConfiguration({ body: retarget(rendered.validating, 'validate') });
    cleanups.push(() => env.admissionApi.deleteValidatingWebhookConfiguration({ name: FLOOR_NAME }));
    return { namespace, pid: server.pid, stop };
  } catch (error) {
    await stop();
    throw error;
  }
}
