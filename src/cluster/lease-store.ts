/** The LeaseStore of a real coordination.k8s.io/v1 Lease. */
import { number, object, string, type InferType } from 'yup';
import { kubeRequest, statusCodeOf, type KubeRequestConfig } from './kube-request.js';
import { LeaseConflict, type LeaseRecord, type LeaseStore, type StoredLease } from './lease.js';

/** What is read of a Lease the API server returns; the times stay the MicroTime strings it sent. */
const leaseSchema = object({
  metadata: object({ resourceVersion: string().required() }).required(),
  spec: object({
    holderIdentity: string().default(''),
    leaseDurationSeconds: number().integer().default(0),
    acquireTime: string().optional(),
    renewTime: string().optional(),
    leaseTransitions: number().integer().default(0),
  }),
});
type Lease = InferType<typeof leaseSchema>;

export function kubernetesLeaseStore(config: KubeRequestConfig, namespace: string, name: string): LeaseStore {
  const collection = `/apis/coordination.k8s.io/v1/namespaces/${encodeURIComponent(namespace)}/leases`;
  const one = `${collection}/${encodeURIComponent(name)}`;
  const toLease = (record: LeaseRecord, resourceVersion?: string): object => ({
    apiVersion: 'coordination.k8s.io/v1',
    kind: 'Lease',
    metadata: { name, namespace, ...(resourceVersion === undefined ? {} : { resourceVersion }) },
    spec: {
      holderIdentity: record.holderIdentity,
      leaseDurationSeconds: record.leaseDurationSeconds,
      leaseTransitions: record.leaseTransitions,
      ...(record.acquireTime === undefined ? {} : { acquireTime: record.acquireTime }),
      ...(record.renewTime === undefined ? {} : { renewTime: record.renewTime }),
    },
  });
  const conflicts = async (write: Promise<unknown>): Promise<StoredLease> => {
    try {
      return fromLease(await write);
    } catch (error) {
      // 409: changed since it was read, or created by another replica first.
      if (statusCodeOf(error) === 409) throw new LeaseConflict(`the Lease ${namespace}/${name} changed meanwhile`);
      throw error;
    }
  };
  return {
    async read(signal) {
      try {
        return fromLease(await kubeRequest(config, 'GET', one, undefined, undefined, signal));
      } catch (error) {
        if (statusCodeOf(error) === 404) return undefined;
        throw error;
      }
    },
    create: (record, signal) => conflicts(kubeRequest(config, 'POST', collection, toLease(record), undefined, signal)),
    update: (resourceVersion, record, signal) => conflicts(kubeRequest(config, 'PUT', one, toLease(record, resourceVersion), undefined, signal)),
  };
}

/** The stored record, or an error naming what is wrong with the answer. */
function fromLease(answer: unknown): StoredLease {
  let lease: Lease;
  try {
    lease = leaseSchema.validateSync(answer);
  } catch (error) {
    throw new Error(`the API server's Lease: ${error instanceof Error ? error.message : String(error)}`);
  }
  const spec = lease.spec;
  return {
    resourceVersion: lease.metadata.resourceVersion,
    record: {
      holderIdentity: spec.holderIdentity,
      leaseDurationSeconds: spec.leaseDurationSeconds,
      acquireTime: spec.acquireTime,
      renewTime: spec.renewTime,
      leaseTransitions: spec.leaseTransitions,
    },
  };
}
