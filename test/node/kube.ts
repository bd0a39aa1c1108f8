/** Waiting on the node's cluster: Pods reaching a state, namespaces ready for Pods. */
import type { CoreV1Api, V1Pod } from '@kubernetes/client-node';
import { sleep } from '../e2e/processes.js';
import { isNotFound } from '../e2e/env.js';

const POLL_MS = 500;

/** Polls until check(pod) returns a value other than undefined; throws with the last state. */
export async function waitForPod<T>(
  core: CoreV1Api,
  namespace: string,
  name: string,
  what: string,
  timeoutMs: number,
  check: (pod: V1Pod) => T | undefined,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: V1Pod | undefined;
  while (Date.now() < deadline) {
    last = await core.readNamespacedPod({ name, namespace });
    const result = check(last);
    if (result !== undefined) return result;
    await sleep(POLL_MS);
  }
  throw new Error(`Pod ${namespace}/${name} did not get ${what} within ${timeoutMs} ms; last status: ${JSON.stringify(last?.status)}`);
}

/** The phase once the Pod has ended (Succeeded or Failed). */
export function finished(pod: V1Pod): string | undefined {
  const phase = pod.status?.phase;
  return phase === 'Succeeded' || phase === 'Failed' ? phase : undefined;
}

/** True once every container is Ready. */
export function ready(pod: V1Pod): true | undefined {
  return pod.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') === true ? true : undefined;
}

/** Creates a namespace and waits for its `default` ServiceAccount (the controller manager makes it). */
export async function createNamespace(core: CoreV1Api, name: string, labels: Record<string, string> = {}): Promise<void> {
  await core.createNamespace({ body: { metadata: { name, labels } } });
  const deadline = Date.now() + 60_000;
  while (Date.now() < deadline) {
    if (!(await isNotFound(core.readNamespacedServiceAccount({ name: 'default', namespace: name })))) return;
    await sleep(POLL_MS);
  }
  throw new Error(`namespace ${name} got no default ServiceAccount within 60 s`);
}

export async function podLogs(core: CoreV1Api, namespace: string, name: string): Promise<string> {
  return core.readNamespacedPodLog({ name, namespace });
}

/** The release's webhook Pods once exactly `count` of them are Ready (none terminating). */
export async function waitForReplicas(core: CoreV1Api, namespace: string, release: string, count: number, timeoutMs = 180_000): Promise<V1Pod[]> {
  const deadline = Date.now() + timeoutMs;
  let last: V1Pod[] = [];
  while (Date.now() < deadline) {
    const list = await core.listNamespacedPod({
      namespace,
      labelSelector: `app.kubernetes.io/instance=${release},app.kubernetes.io/component=webhook`,
    });
    last = list.items.filter((pod) => pod.metadata?.deletionTimestamp === undefined);
    if (last.length === count && last.every((pod) => ready(pod) === true)) return last;
    await sleep(POLL_MS);
  }
  const states = last.map((pod) => `${pod.metadata?.name ?? '?'} ${pod.status?.phase ?? '?'} ${JSON.stringify(pod.status?.containerStatuses?.[0]?.state)}`);
  throw new Error(`wanted ${count} Ready webhook Pods in ${namespace} within ${timeoutMs} ms; have: ${states.join('; ')}`);
}
