/**
 * What the backstop (`mountgate backstop`) adds to a Pod CREATE in the API server: a local
 * kube-apiserver + etcd (test/e2e/controlplane.ts), the backstop for the e2e suite's policy
 * (test/e2e/policy.yaml) bound to one namespace, Pod CREATEs taking turns between that namespace and one it does not
 * select. No webhooks anywhere. Prints a Markdown table for BENCHMARKS.md.
 *
 *   node --import tsx bench/backstop.ts [PODS_PER_SIDE]     (default 300)
 */
import { readFile } from 'node:fs/promises';
import { AdmissionregistrationV1Api, CoreV1Api, type V1Pod } from '@kubernetes/client-node';
import { backstop, DEFAULT_BACKSTOP_OPTIONS } from '../src/backstop/policy.js';
import { parsePolicy } from '../src/policy/load.js';
import { sleep, startControlPlane } from '../test/e2e/controlplane.js';
import { SUITE_POLICY, sandboxPod } from '../test/e2e/env.js';

const LABEL = 'mountgate.io/backstop-bench';
const perSide = Number(process.argv[2] ?? '300');

/** 100 hostPath volumes, half under a read-only prefix, each mounted by 10 containers (100 mounts each). */
function bigPod(name: string): V1Pod {
  const volumes = Array.from({ length: 100 }, (_, i) => ({ name: `v${i}`, hostPath: { path: i % 2 === 0 ? `/srv/models/m${i}` : `/srv/sandbox/s${i}` } }));
  const containers = Array.from({ length: 10 }, (_, c) => ({
    name: `c${c}`,
    image: 'registry.example/sandbox:1',
    volumeMounts: volumes.map((v, i) => ({ name: v.name, mountPath: `/m/${i}`, readOnly: i % 2 === 0 })),
  }));
  return { metadata: { name }, spec: { containers, volumes } };
}

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((sorted.length * p) / 100))] ?? Number.NaN;
}

const cp = await startControlPlane();
try {
  const core = cp.admin.makeApiClient(CoreV1Api);
  const admission = cp.admin.makeApiClient(AdmissionregistrationV1Api);
  const policy = parsePolicy(await readFile(SUITE_POLICY, 'utf8'), SUITE_POLICY);
  const objects = backstop(policy, { ...DEFAULT_BACKSTOP_OPTIONS, namespaceSelector: { matchLabels: { [LABEL]: 'on' } } });
  await admission.createValidatingAdmissionPolicy({ body: objects.policy });
  await admission.createValidatingAdmissionPolicyBinding({ body: objects.binding });
  const sides = { with: 'backstop-on', without: 'backstop-off' } as const;
  await core.createNamespace({ body: { metadata: { name: sides.with, labels: { [LABEL]: 'on' } } } });
  await core.createNamespace({ body: { metadata: { name: sides.without } } });
  // Until the policy is loaded, a hostPath: / Pod gets in.
  for (let attempt = 0; ; attempt++) {
    try {
      await core.createNamespacedPod({ namespace: sides.with, body: { metadata: { name: 'probe' }, spec: { containers: [{ name: 'c', image: 'x' }], volumes: [{ name: 'r', hostPath: { path: '/' } }] } }, dryRun: 'All' });
    } catch {
      break;
    }
    if (attempt > 200) throw new Error('the backstop was not enforced within 20 s');
    await sleep(100);
  }

  const rows: string[] = [];
  for (const [title, make, count] of [
    ['the sandbox Pod (2 hostPath volumes)', (name: string) => sandboxPod(name), perSide],
    ['100 hostPath volumes x 10 containers x 100 mounts', bigPod, Math.max(10, Math.floor(perSide / 5))],
  ] as const) {
    const times = { with: [] as number[], without: [] as number[] };
    for (let i = -10; i < count; i++) {
      for (const side of ['with', 'without'] as const) {
        const start = process.hrtime.bigint();
        await core.createNamespacedPod({ namespace: sides[side], body: make(`p${i + 10}-${title.length}`) });
        const ms = Number(process.hrtime.bigint() - start) / 1e6;
        if (i >= 0) times[side].push(ms);
      }
    }
    for (const side of ['with', 'without'] as const) {
      const sorted = [...times[side]].sort((a, b) => a - b);
      rows.push(`| ${title}, ${side} the backstop | ${sorted.length} | ${[50, 90, 99].map((p) => percentile(sorted, p).toFixed(1)).join(' | ')} |`);
    }
    const added = percentile([...times.with].sort((a, b) => a - b), 50) - percentile([...times.without].sort((a, b) => a - b), 50);
    rows.push(`| added at p50 | | ${added.toFixed(1)} | | |`);
  }
  console.log('| Pod CREATE | Pods | p50 ms | p90 ms | p99 ms |\n|---|---:|---:|---:|---:|\n' + rows.join('\n'));
} finally {
  await cp.stop();
}
