// Mutation testing of the security-critical core: every change Stryker makes to these files must
// make some unit test fail, or be equivalent (test/mutation/README.md lists those). Run from the
// repository root by `npm run test:mutation`; not part of `npm test` or .ci/run (it takes minutes).

/** @type {import('@stryker-mutator/api/core').PartialStrykerOptions} */
const config = {
  testRunner: 'mocha',
  // The unit tests are TypeScript run through tsx; mocha's `node-option` is ignored when Stryker
  // loads mocha in its own worker, so the worker gets the loader itself.
  testRunnerNodeArgs: ['--import', 'tsx'],
  mochaOptions: {
    config: '.mocharc.json',
    // Only the suites that reach these files: the rest of `npm test` adds minutes and kills nothing here.
    // Property suites are left out on purpose: a mutant must be killed by a named row that always
    // runs the same case, not by a random draw that may miss it on the next run.
    spec: [
      'test/policy/paths.test.ts',
      'test/policy/patterns.test.ts',
      'test/policy/mount-policy.test.ts',
      'test/admission/mutate.test.ts',
      'test/admission/validate.test.ts',
      'test/admission/layers.test.ts',
      'test/admission/placeholders.test.ts',
      'test/admission/hand-written.test.ts',
      'test/admission/read-only-below.test.ts',
      'test/admission/volume-root.test.ts',
      'test/admission/annotation-update.test.ts',
      'test/admission/annotation.test.ts',
      'test/admission/response.test.ts',
      'test/cluster/mount-policy-status.test.ts',
      'test/cluster/status-writer.test.ts',
      'test/cluster/mount-policy-cache.test.ts',
      'test/cli/check.test.ts',
      'test/cli/check-layers.test.ts',
      'test/policy/load.test.ts',
      'test/server/file-poller.test.ts',
    ],
  },
  mutate: [
    'src/policy/paths.ts',
    'src/policy/match.ts',
    'src/policy/containment.ts',
    'src/policy/allowance.ts',
    'src/admission/plan.ts',
    'src/admission/reconcile.ts',
    'src/admission/injection.ts',
    'src/policy/effective.ts',
    'src/policy/yaml-problems.ts',
    'src/cli/manifests.ts',
    // Its pure part (afterRead, readEvent); pollFiles' timer is reached only by the server suite.
    'src/server/file-poller.ts:24-43',
  ],
  // Each mutant runs only the tests that reach it.
  coverageAnalysis: 'perTest',
  // Two shared cores: one worker leaves the other for the rest of the machine.
  concurrency: 1,
  timeoutMS: 20000,
  reporters: ['clear-text', 'progress', 'html', 'json'],
  htmlReporter: { fileName: 'reports/mutation/mutation.html' },
  jsonReporter: { fileName: 'reports/mutation/mutation.json' },
  tempDirName: '.stryker-tmp',
  // The sandbox is a copy of the repository; this folder's own node_modules (Stryker and Mocha 11) stays out,
  // and so do Python venvs (their lib64 is a link to a folder, which the copy cannot take) and their caches.
  ignorePatterns: ['test/mutation/node_modules', '**/.venv', '**/__pycache__', '**/.pytest_cache', '**/.mypy_cache', '**/.hypothesis'],
  incremental: false,
  thresholds: { high: 90, low: 80, break: null },
};

export default config;
