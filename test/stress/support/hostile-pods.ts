/**
 * Pods that are large, within the 3 MiB body limit, and shaped to make a
 * careless decision quadratic: many requests against many existing mounts,
 * many containers to patch, many volumes to check, many malformed entries.
 */
import { sandboxPod } from '../../helpers/pods.js';

export interface HostileShape {
  readonly name: string;
  readonly pod: () => Record<string, unknown>;
}

const range = (count: number): number[] => Array.from({ length: count }, (_, index) => index);

export const HOSTILE_SHAPES: readonly HostileShape[] = [
  {
    name: '1000 requests against 40 000 existing mounts',
    pod: () =>
      sandboxPod({
        mounts: range(1000).map((i) => ({ hostPath: `/srv/sandbox/${i}`, mountPath: `/req/${i}` })),
        containers: [{ name: 'sandbox', image: 'x', volumeMounts: range(40_000).map((i) => ({ name: 'skills', mountPath: `/opt/m${i}` })) }],
      }),
  },
  {
    name: '1000 entries, each with an unknown key',
    pod: () => sandboxPod({ mounts: range(1000).map((i) => ({ hostPath: `/srv/sandbox/${i}`, mountPath: `/w${i}`, subPath: 'x' })) }),
  },
  {
    name: '1000 entries, each with every field of the wrong type',
    pod: () => sandboxPod({ mounts: range(1000).map((i) => ({ hostPath: i, mountPath: true, readOnly: 'yes' })) }),
  },
  {
    name: '3 allowed mounts into each of 20 000 containers',
    pod: () =>
      sandboxPod({
        mounts: range(3).map((i) => ({ hostPath: `/srv/sandbox/${i}`, mountPath: `/w${i}` })),
        containers: range(20_000).map((i) => ({ name: `c${i}`, image: 'x', volumeMounts: [{ name: 'skills', mountPath: '/mnt/skills', readOnly: true }] })),
      }),
  },
  {
    name: '3 allowed mounts into each of 180 000 containers (a 50 MiB patch if allowed)',
    pod: () =>
      sandboxPod({
        mounts: range(3).map((i) => ({ hostPath: `/srv/sandbox/${i}`, mountPath: `/w${i}` })),
        containers: range(180_000).map((i) => ({ name: `${i}` })),
      }),
  },
  {
    name: '25 000 hostPath volumes, each mounted by one of 250 containers',
    pod: () =>
      sandboxPod({
        volumes: range(25_000).map((i) => ({ name: `v${i}`, hostPath: { path: `/srv/models/${i}` } })),
        containers: range(250).map((c) => ({ name: `c${c}`, image: 'x', volumeMounts: range(100).map((m) => ({ name: `v${c * 100 + m}`, mountPath: `/m${m}`, readOnly: true })) })),
      }),
  },
  {
    name: 'hostPaths and mountPaths of 2000 segments, 350 times',
    pod: () => sandboxPod({ mounts: range(350).map((i) => ({ hostPath: `/srv/sandbox${'/a'.repeat(2000)}/${i % 10}`, mountPath: `/w${'/b'.repeat(2000)}/${i}` })) }),
  },
];

export function bodyBytes(pod: unknown): number {
  return Buffer.byteLength(JSON.stringify(pod));
}
