/**
 * What docs/reference.md must state, derived from the code itself: the
 * commands' option tables, the environment variables the source reads, the
 * policy schema's description, the metrics registry, the routes, the limits.
 * Each fact names a section of the reference and the snippets that must
 * appear there together on one table row (or anywhere in it).
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { SchemaFieldDescription, SchemaObjectDescription } from 'yup';
import { SYSTEM_MOUNT_PATHS } from '../../src/policy/compile.js';
import { MAX_PATH_LENGTH } from '../../src/policy/paths.js';
import { MAX_SPEC_BYTES } from '../../src/policy/mount-policy.js';
import { MOUNT_POLICY_PAGE_SIZE } from '../../src/cluster/mount-policy-watch.js';
import { policySchema } from '../../src/policy/schema.js';
import { COMMANDS } from '../../src/cli/commands.js';
import { LOG_LEVELS } from '../../src/cli/serve-options.js';
import { EXIT_DENIED, EXIT_OK, EXIT_USAGE } from '../../src/cli/usage.js';
import { MAX_ANNOTATION_ENTRIES, MAX_MALFORMED_ENTRIES } from '../../src/admission/annotation.js';
import { VOLUME_PREFIX } from '../../src/admission/injection.js';
import { MAX_INJECTED_MOUNTS } from '../../src/admission/plan.js';
import { MAX_NAMED_VIOLATIONS } from '../../src/admission/violation.js';
import { MAX_BODY_BYTES } from '../../src/server/app.js';
import { DEFAULT_POOL_BYTES, SMALL_BODY_BYTES } from '../../src/server/body-budget.js';
import { KEEP_ALIVE_TIMEOUT_MS } from '../../src/server/index.js';
import { createMetrics } from '../../src/server/metrics.js';
import { REPEAT_WINDOW_MS, REPEATS_PER_WINDOW } from '../../src/cluster/status-writer.js';
import { IDLE_CONNECTION_MS } from '../../src/cluster/kept-alive.js';
import { JUDGED_STACK } from '../../src/admission/mount-points.js';
import { MAX_CEL_EXPRESSION_LENGTH } from '../../src/backstop/policy.js';
import { LEASE_HAND_BACK_TIMEOUT_MS } from '../../src/cluster/lease.js';
import { MAX_RESENDS } from '../../src/cluster/kube-request.js';
import { MAX_RETRY_AFTER_MS, RESUME_SETTLE_MS } from '../../src/cluster/list-watch.js';

export interface Fact {
  /** What is missing when the fact does not hold, e.g. "serve flag --port". */
  readonly what: string;
  /** The heading of the section (its text from the start), e.g. "### `mountgate serve`"; "" is the whole page. */
  readonly section: string;
  /** Snippets that must all appear, on one table row when `row` is true. */
  readonly snippets: readonly string[];
  readonly row: boolean;
}

const code = (text: string | number): string => `\`${text}\``;

/** A section per command, and a row per flag with its short form, variable and default. */
export function commandFacts(): Fact[] {
  return COMMANDS.flatMap((command) => {
    const section = `### \`mountgate ${command.name}\``;
    const flags = Object.entries(command.options).map(
      ([name, spec]): Fact => ({
        what: `${command.name} flag --${name}`,
        section,
        snippets: [
          `\`--${name}`,
          ...(spec.short === undefined ? [] : [code(`-${spec.short}`)]),
          ...(spec.env === undefined ? [] : [code(spec.env)]),
          ...(spec.fallback === undefined ? [] : [code(spec.fallback)]),
        ],
        row: true,
      }),
    );
    return [{ what: `a section for mountgate ${command.name}`, section, snippets: [], row: false }, ...flags];
  });
}

/** Every MOUNTGATE_* name the source mentions, wherever it reads it. */
export function environmentFacts(root: string): Fact[] {
  const names = new Set<string>();
  for (const file of sourceFiles(join(root, 'src'))) {
    for (const match of readFileSync(file, 'utf8').matchAll(/\bMOUNTGATE_[A-Z0-9_]+\b/g)) names.add(match[0]);
  }
  return [...names].sort().map((name) => ({ what: `environment variable ${name}`, section: '### `mountgate serve`', snippets: [code(name)], row: true }));
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? sourceFiles(join(dir, entry.name)) : entry.name.endsWith('.ts') ? [join(dir, entry.name)] : [],
  );
}

const POLICY = '## 4. The policy file';

/** Every key of the policy schema, nested ones included, with its default and its allowed values. */
export function policyFacts(): Fact[] {
  const facts: Fact[] = [];
  const visit = (fields: Record<string, SchemaFieldDescription>): void => {
    for (const [key, field] of Object.entries(fields)) {
      const described = 'oneOf' in field ? field : undefined;
      const fallback = described?.default;
      const values = (described?.oneOf ?? []).map((value) => code(String(value)));
      const shown = fallback === undefined ? [] : [code(typeof fallback === 'string' ? fallback : JSON.stringify(fallback))];
      facts.push({ what: `policy key ${key}`, section: POLICY, snippets: [code(key), ...shown, ...values], row: true });
      const inner = 'innerType' in field ? field.innerType : undefined;
      if (inner !== undefined && !Array.isArray(inner) && isObjectDescription(inner)) visit(inner.fields);
    }
  };
  visit(policySchema.describe().fields);
  return facts;
}

function isObjectDescription(field: SchemaFieldDescription): field is SchemaObjectDescription {
  return 'fields' in field;
}

const METRICS = '### Metrics';

/** Every metric mountgate registers (prom-client's default process metrics aside), with its labels and buckets. */
export function metricFacts(): Fact[] {
  return createMetrics()
    .registry.getMetricsAsArray()
    .filter((metric) => metric.name.startsWith('mountgate_'))
    .map((metric) => {
      const labels = 'labelNames' in metric && Array.isArray(metric.labelNames) ? metric.labelNames.map(String) : [];
      const buckets = 'upperBounds' in metric && Array.isArray(metric.upperBounds) ? metric.upperBounds.map(String) : [];
      return { what: `metric ${metric.name}`, section: METRICS, snippets: [code(metric.name), ...labels.map(code), ...buckets.map(code)], row: true };
    });
}

const ROUTES = '## 3. HTTP';

/** The paths the servers answer: the route literals of src/server (app.ts and metrics.ts). */
export function routesInCode(root: string): string[] {
  const routes = new Set<string>();
  for (const file of ['app.ts', 'metrics.ts']) {
    for (const match of readFileSync(join(root, 'src/server', file), 'utf8').matchAll(/'(\/[a-z]+(?:-[a-z]+)*)'/g)) {
      if (match[1] !== undefined) routes.add(match[1]);
    }
  }
  return [...routes].sort();
}

export function routeFacts(root: string): Fact[] {
  return routesInCode(root).map((route) => ({ what: `route ${route}`, section: ROUTES, snippets: [` ${route}\` |`], row: true }));
}

/** The numbers the reference states, each from the constant the code uses. */
export function limitFacts(): Fact[] {
  const limits: Array<[string, string]> = [
    ['the body limit', `${MAX_BODY_BYTES} bytes`],
    ['the body budgets', `${DEFAULT_POOL_BYTES / 1024 / 1024} MiB`],
    ['the annotation entries read', String(MAX_ANNOTATION_ENTRIES)],
    ['the malformed entries reported', String(MAX_MALFORMED_ENTRIES)],
    ['the mounts added to one Pod', String(MAX_INJECTED_MOUNTS)],
    ['the rules named in a message', String(MAX_NAMED_VIOLATIONS)],
    ['the path length', `${MAX_PATH_LENGTH} UTF-16 code units`],
    ['the size of a MountPolicy spec', `${MAX_SPEC_BYTES} bytes (${MAX_SPEC_BYTES / 1024} KiB)`],
    ['the MountPolicies per list page', String(MOUNT_POLICY_PAGE_SIZE)],
    ['the repeated status writes', `${REPEATS_PER_WINDOW} per ${REPEAT_WINDOW_MS / 1000} s`],
    ['the kept-alive idle time', `${KEEP_ALIVE_TIMEOUT_MS / 1000} s`],
    ['the idle time of a connection to the API server', `${IDLE_CONNECTION_MS / 1000} s`],
    ['the read-only host mounts stacked at one place judged one by one', String(JUDGED_STACK)],
    ['the length of one CEL expression of the backstop', `${MAX_CEL_EXPRESSION_LENGTH} characters (code points)`],
    ['the time to hand the Lease back', `${LEASE_HAND_BACK_TIMEOUT_MS / 1000} s`],
    ['the longest wait for a Retry-After of the API server', `${MAX_RETRY_AFTER_MS / 1000} s`],
    ['the times a request for the Lease or a status is sent again after a Retry-After', `${MAX_RESENDS} times`],
    ['the time a resumed watch settles in', `${RESUME_SETTLE_MS} ms`],
  ];
  return [
    ...limits.map(([what, value]): Fact => ({ what: `limit: ${what}`, section: '## 10. Limits', snippets: [`| ${value}`], row: true })),
    { what: 'limit: the small-body budget', section: '## 10. Limits', snippets: [`${SMALL_BODY_BYTES / 1024} KiB`, `| ${DEFAULT_POOL_BYTES / 1024 / 1024} MiB`], row: true },
    ...SYSTEM_MOUNT_PATHS.map((path): Fact => ({ what: `reserved system path ${path}`, section: '## 6. The rules', snippets: [code(path)], row: false })),
    { what: 'the volume name prefix', section: '## 7. The patch', snippets: [code(VOLUME_PREFIX)], row: false },
    ...LOG_LEVELS.map((level): Fact => ({ what: `log level ${level}`, section: '### `mountgate serve`', snippets: ['`--log-level', code(level)], row: true })),
    ...[EXIT_OK, EXIT_DENIED, EXIT_USAGE].map((exit): Fact => ({ what: `exit code ${exit}`, section: '### Exit codes', snippets: [`| ${code(exit)} |`], row: true })),
  ];
}

export function allFacts(root: string): Fact[] {
  return [...commandFacts(), ...environmentFacts(root), ...policyFacts(), ...metricFacts(), ...routeFacts(root), ...limitFacts()];
}
