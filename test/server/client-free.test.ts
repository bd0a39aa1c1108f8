/**
 * @kubernetes/client-node's index loads every generated API model, some 70 MiB of memory. `serve`
 * (with or without --pod-security-preflight and --mount-policies) reads the cluster through the
 * lean KubeConfig bundle and node:https instead, so its module graph must reach the package only
 * by the import() src/cluster/kubeconfig.ts falls back to when there is no bundle (under tsx).
 * esbuild's metafile gives the graph as Node would load it: type-only imports dropped.
 */
import { expect } from 'chai';
import { build, type Metafile } from 'esbuild';

const PACKAGE = '@kubernetes/client-node';

/** Every import of the package reachable from `entry`, as "importer (kind)". */
async function importsOfClient(entry: string): Promise<string[]> {
  const result = await build({ entryPoints: [entry], bundle: true, write: false, metafile: true, platform: 'node', format: 'esm', packages: 'external', logLevel: 'silent' });
  const inputs: Metafile['inputs'] = result.metafile.inputs;
  const found: string[] = [];
  for (const [file, input] of Object.entries(inputs)) {
    for (const imported of input.imports) {
      if (imported.path === PACKAGE || imported.path.startsWith(`${PACKAGE}/`)) found.push(`${file} (${imported.kind})`);
    }
  }
  return found.sort();
}

describe('server: serve loads no generated Kubernetes client', function () {
  this.timeout(30_000);

  const rows: ReadonlyArray<{ name: string; entry: string; imports: string[] }> = [
    {
      name: 'serve, with every cluster feature, reaches it only through the kubeconfig fallback, by import()',
      entry: 'src/cli/serve.ts',
      imports: ['src/cluster/kubeconfig.ts (dynamic-import)'],
    },
    {
      name: 'audit does load it (the check sees a static import)',
      entry: 'src/cli/audit.ts',
      // kubeconfig.ts for the check that a kubeconfig was found, whose fallback import it also holds.
      imports: ['src/audit/list-mount-policies.ts (import-statement)', 'src/audit/list-pods.ts (import-statement)', 'src/cli/audit.ts (import-statement)', 'src/cluster/kubeconfig.ts (dynamic-import)'],
    },
  ];
  for (const row of rows) {
    it(row.name, async () => {
      expect(await importsOfClient(row.entry)).to.deep.equal(row.imports);
    });
  }
});
