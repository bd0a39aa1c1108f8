/** The LeaseStore of a real coordination.k8s.io/v1 Lease. */
import type { V1Lease } from '@kubernetes/client-node';
import type { Cluster } from './kube-client.js';
import { statusCodeOf } from './kube-client.js';
import { LeaseConflict, type LeaseRecord, type LeaseStore, type StoredLease } from './lease.js';

export function kubernetesLeaseStore({ k8s, config }: Cluster, namespace: string, name: string): LeaseStore {
  const api = config.makeApiClient(k8s.CoordinationV1Api);
  const toLease = (record: LeaseRecord, resourceVersion?: string): V1Lease => ({
    apiVersion: 'coordination.k8s.io/v1',
    kind: 'Lease',
    metadata: { name, namespace, ...(resourceVersion === undefined ? {} : { resourceVersion }) },
    spec: {
      holderIdentity: record.holderIdentity,
      leaseDurationSeconds: record.leaseDurationSeconds,
      leaseTransitions: record.leaseTransitions,
      ...(record.acquireTime === undefined ? {} : { acquireTime: new k8s.V1MicroTime(record.acquireTime) }),
      ...(record.renewTime === undefined ? {} : { renewTime: new k8s.V1MicroTime(record.renewTime) }),
    },
  });
  const conflicts = async (write: Promise<V1Lease>): Promise<StoredLease> => {
    try {
      return fromLease(await write);
    } catch (error) {
      // 409: changed since it was read, or created by another replica first.
      if (statusCodeOf(error) === 409) throw new LeaseConflict(`the Lease ${namespace}/${name} changed meanwhile`);
      throw error;
    }
  };
  return {
    async read() {
      try {
        return fromLease(await api.readNamespacedLease({ name, namespace }));
      } catch (error) {
        if (statusCodeOf(error) === 404) return undefined;
        throw error;
      }
    },
    create: (record) => conflicts(api.createNamespacedLease({ namespace, body: toLease(record) })),
    update: (resourceVersion, record) => conflicts(api.replaceNamespacedLease({ name, namespace, body: toLease(record, resourceVersion) })),
  };
}

/** The client hands MicroTime fields back as the strings the API server sent, whatever their declared type. */
function timeText(value: unknown): string | undefined {
  if (value instanceof Date) return value.toISOString();
  return typeof value === 'string' ? value : undefined;
}

function fromLease(lease: V1Lease): StoredLease {
  const spec = lease.spec ?? {};
  return {
    resourceVersion: lease.metadata?.resourceVersion ?? '',
    record: {
      holderIdentity: spec.holderIdentity ?? '',
      leaseDurationSeconds: spec.leaseDurationSeconds ?? 0,
      acquireTime: timeText(spec.acquireTime),
      renewTime: timeText(spec.renewTime),
      leaseTransitions: spec.leaseTransitions ?? 0,
    },
  };
}
