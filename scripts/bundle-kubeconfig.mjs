/**
 * Builds dist/vendor/kubeconfig.js: @kubernetes/client-node's KubeConfig (kubeconfig and in-cluster
 * loading, exec/token/certificate/OIDC auth, proxies) without the generated API classes and models.
 * Its config.js imports the package's gen/index.js only for createConfiguration and
 * ServerConfiguration (used by makeApiClient); that index loads every generated model, some 70 MiB
 * of memory. Here it resolves to just those two modules, and the rest is bundled as it is.
 * Run by `npm run build` after tsc; an argument names another output folder (the tests use one).
 */
import { build } from 'esbuild';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(path.join(root, 'package.json'));
const dist = path.dirname(require.resolve('@kubernetes/client-node'));
const config = path.join(dist, 'config.js');

/** gen/index.js as config.js sees it: only the two names it imports. */
const genIndex = [
  `export { createConfiguration } from ${JSON.stringify(path.join(dist, 'gen', 'configuration.js'))};`,
  `export { ServerConfiguration } from ${JSON.stringify(path.join(dist, 'gen', 'servers.js'))};`,
].join('\n');

await build({
  entryPoints: { kubeconfig: path.join(root, 'scripts', 'kubeconfig-entry.mjs') },
  bundle: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  outdir: process.argv[2] === undefined ? path.join(root, 'dist', 'vendor') : path.resolve(process.argv[2]),
  // Bundled CommonJS dependencies call require() for Node's own modules.
  banner: { js: "import { createRequire as __mountgateCreateRequire } from 'node:module'; const require = __mountgateCreateRequire(import.meta.url);" },
  legalComments: 'linked',
  logLevel: 'warning',
  plugins: [
    {
      name: 'client-node-without-generated-models',
      setup(builder) {
        builder.onResolve({ filter: /^@kubernetes\/client-node\/dist\/config\.js$/ }, () => ({ path: config }));
        builder.onResolve({ filter: /^\.\/gen\/index\.js$/ }, (args) => (args.importer === config ? { path: 'gen-index', namespace: 'client-node-lean' } : undefined));
        builder.onLoad({ filter: /.*/, namespace: 'client-node-lean' }, () => ({ contents: genIndex, resolveDir: dist, loader: 'js' }));
      },
    },
  ],
});
