/**
 * Builds dist/vendor/kubeconfig.js: @kubernetes/client-node's KubeConfig (kubeconfig and in-cluster
 * loading, exec/token/certificate/OIDC auth, proxies) without the generated API classes and models.
 * Its config.js imports the package's gen/index.js only for makeApiClient, which mountgate never calls
 * on this class (the typed API clients come from the package itself); that index loads every generated
 * model, some 70 MiB of memory, and its HTTP library loads node-fetch. Here both names it imports fail
 * when called, and node-fetch's one use (Headers, for applyToFetchOptions) is Node's own: node-fetch 2
 * loads whatwg-url and tr46's Unicode tables, some 3 MiB of heap, to parse URLs it then parses with
 * Node's URL. The rest is bundled as it is.
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

/** gen/index.js as config.js sees it: the two names it imports, for makeApiClient alone. */
const genIndex = `
const notBundled = () => { throw new Error('makeApiClient is not in mountgate\\'s kubeconfig bundle; use @kubernetes/client-node'); };
export const createConfiguration = notBundled;
export class ServerConfiguration { constructor() { notBundled(); } }
`;

/** node-fetch as config.js sees it: only Headers, which Node has. */
const nodeFetch = 'export const Headers = globalThis.Headers;';

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
        builder.onResolve({ filter: /^node-fetch$/ }, (args) => (args.importer === config ? { path: 'node-fetch', namespace: 'client-node-lean' } : undefined));
        builder.onLoad({ filter: /.*/, namespace: 'client-node-lean' }, (args) => ({ contents: args.path === 'node-fetch' ? nodeFetch : genIndex, resolveDir: dist, loader: 'js' }));
      },
    },
  ],
});
