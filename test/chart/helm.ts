/**
 * Helpers for the chart tests: find the real helm binary, run it, parse what `helm template`
 * renders, and read fields out of the parsed objects without `any`.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments, stringify } from 'yaml';

export const REPO_ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const CHART_DIR = path.join(REPO_ROOT, 'charts', 'mountgate');
export const VALUES_DIR = path.join(REPO_ROOT, 'test', 'chart', 'values');
export const GEN_CERTS = path.join(REPO_ROOT, 'certs', 'gen-certs.sh');
/** The image every render is given first (the chart requires one); a test's own values override it. */
export const IMAGE_VALUES = path.join(VALUES_DIR, 'image.yaml');

/**
 * The Kubernetes version `helm template` and `helm lint` assume without --kube-version: helm v3.21.4
 * as released (and as scripts/install-helm.sh builds it) takes it from its k8s.io/client-go v0.36.2.
 * A helm built without those ldflags assumes v1.20.0; lint.test.ts refuses such a binary.
 */
export const HELM_DEFAULT_KUBE_VERSION = 'v1.36.0';

export const RELEASE = 'mg';
export const NAMESPACE = 'mountgate-system';
export const FULLNAME = 'mg-mountgate';

/**
 * The helm binary: $HELM, else what scripts/install-helm.sh installs. Throws (so the tests fail,
 * not skip) when there is none.
 */
export function helmPath(): string {
  const fromEnv = process.env['HELM'];
  if (fromEnv !== undefined && fromEnv !== '') {
    if (!existsSync(fromEnv)) throw new Error(`HELM=${fromEnv} does not exist`);
    return fromEnv;
  }
  const cache = process.env['XDG_CACHE_HOME'] ?? path.join(homedir(), '.cache');
  const installed = path.join(cache, 'mountgate', 'bin', 'helm');
  if (existsSync(installed)) return installed;
  throw new Error(`helm not found: set HELM or run scripts/install-helm.sh (looked at ${installed})`);
}

/** .Capabilities.KubeVersion.Version as the helm in use renders a throwaway chart without --kube-version. */
export function defaultKubeVersion(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'mountgate-kube-version-'));
  try {
    mkdirSync(path.join(dir, 'templates'));
    writeFileSync(path.join(dir, 'Chart.yaml'), 'apiVersion: v2\nname: kube-version-probe\nversion: 0.1.0\n');
    writeFileSync(
      path.join(dir, 'templates', 'version.yaml'),
      'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: probe\ndata:\n  kubeVersion: {{ .Capabilities.KubeVersion.Version | quote }}\n',
    );
    const res = helm(['template', 'probe', dir]);
    if (res.status !== 0) throw new Error(`helm template of the probe chart failed (${res.status}):\n${res.stderr}`);
    return str(get(one(parseManifests(res.stdout), 'ConfigMap'), 'data.kubeVersion'), 'data.kubeVersion');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

export interface RunResult {
  readonly status: number;
  readonly stdout: string;
  readonly stderr: string;
}

export function run(cmd: string, args: readonly string[], env?: NodeJS.ProcessEnv, input?: string): RunResult {
  const res = spawnSync(cmd, args, {
    encoding: 'utf8',
    ...(input === undefined ? {} : { input }),
    maxBuffer: 64 * 1024 * 1024,
    env: env ?? process.env,
    timeout: 55_000,
  });
  if (res.error !== undefined) throw res.error;
  return { status: res.status ?? -1, stdout: res.stdout, stderr: res.stderr };
}

export function helm(args: readonly string[]): RunResult {
  // A private HELM_* home so the user's repositories and plugins play no part.
  const home = mkdtempSync(path.join(tmpdir(), 'mountgate-helm-home-'));
  try {
    return run(helmPath(), args, {
      ...process.env,
      HELM_CACHE_HOME: path.join(home, 'cache'),
      HELM_CONFIG_HOME: path.join(home, 'config'),
      HELM_DATA_HOME: path.join(home, 'data'),
      KUBECONFIG: path.join(home, 'no-kubeconfig'),
    });
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
}

/** A values object written to a temporary file (removed by the returned cleanup). */
export function valuesFile(values: Record<string, unknown>): { file: string; cleanup: () => void } {
  const dir = mkdtempSync(path.join(tmpdir(), 'mountgate-values-'));
  const file = path.join(dir, 'values.yaml');
  writeFileSync(file, stringify(values));
  return { file, cleanup: () => rmSync(dir, { recursive: true, force: true }) };
}

export interface RenderOptions {
  readonly files?: readonly string[];
  readonly values?: Record<string, unknown>;
  readonly setFile?: Readonly<Record<string, string>>;
  readonly release?: string;
  readonly namespace?: string;
  readonly extraArgs?: readonly string[];
  /** Leaves out IMAGE_VALUES, to see the chart refuse a render without an image. */
  readonly withoutImage?: boolean;
}

export function templateArgs(opts: RenderOptions): string[] {
  const args = ['template', opts.release ?? RELEASE, CHART_DIR, '--namespace', opts.namespace ?? NAMESPACE];
  if (opts.withoutImage !== true) args.push('--values', IMAGE_VALUES);
  for (const f of opts.files ?? []) args.push('--values', f);
  for (const [k, v] of Object.entries(opts.setFile ?? {})) args.push('--set-file', `${k}=${v}`);
  args.push(...(opts.extraArgs ?? []));
  return args;
}

/** `helm template` with the given options; the raw result (for tests that expect a failure). */
export function template(opts: RenderOptions = {}): RunResult {
  if (opts.values === undefined) return helm(templateArgs(opts));
  const v = valuesFile(opts.values);
  try {
    return helm(templateArgs({ ...opts, files: [...(opts.files ?? []), v.file] }));
  } finally {
    v.cleanup();
  }
}

export type Obj = Record<string, unknown>;

export function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** `helm template` that must succeed; the rendered objects. */
export function render(opts: RenderOptions = {}): Obj[] {
  const res = template(opts);
  if (res.status !== 0) throw new Error(`helm template failed (${res.status}):\n${res.stderr}`);
  return parseManifests(res.stdout);
}

export function parseManifests(text: string): Obj[] {
  const out: Obj[] = [];
  for (const doc of parseAllDocuments(text)) {
    if (doc.errors.length > 0) throw new Error(`invalid YAML rendered: ${doc.errors.map((e) => e.message).join('; ')}`);
    const v: unknown = doc.toJS();
    if (v === null || v === undefined) continue;
    if (!isObj(v)) throw new Error(`a rendered document is not an object: ${JSON.stringify(v)}`);
    out.push(v);
  }
  return out;
}

/** Reads a dotted path ("spec.template.spec.containers.0.args"); undefined when absent. */
export function get(v: unknown, dotted: string): unknown {
  let cur: unknown = v;
  for (const part of dotted.split('.')) {
    if (Array.isArray(cur)) {
      const i = Number(part);
      if (!Number.isInteger(i)) return undefined;
      cur = cur[i];
    } else if (isObj(cur)) {
      cur = cur[part];
    } else {
      return undefined;
    }
  }
  return cur;
}

export function obj(v: unknown, what: string): Obj {
  if (!isObj(v)) throw new Error(`${what}: expected an object, got ${JSON.stringify(v)}`);
  return v;
}

export function list(v: unknown, what: string): unknown[] {
  if (!Array.isArray(v)) throw new Error(`${what}: expected a list, got ${JSON.stringify(v)}`);
  return v;
}

export function str(v: unknown, what: string): string {
  if (typeof v !== 'string') throw new Error(`${what}: expected a string, got ${JSON.stringify(v)}`);
  return v;
}

export function kindOf(o: Obj): string {
  return typeof o['kind'] === 'string' ? o['kind'] : '';
}

export function nameOf(o: Obj): string {
  const n = get(o, 'metadata.name');
  return typeof n === 'string' ? n : '';
}

export function all(docs: readonly Obj[], kind: string): Obj[] {
  return docs.filter((d) => kindOf(d) === kind);
}

/** The single object of a kind (and name, when given); throws when there is not exactly one. */
export function one(docs: readonly Obj[], kind: string, name?: string): Obj {
  const found = all(docs, kind).filter((d) => name === undefined || nameOf(d) === name);
  if (found.length !== 1) {
    throw new Error(`expected one ${kind}${name === undefined ? '' : ` ${name}`}, found ${found.length}`);
  }
  const [only] = found;
  if (only === undefined) throw new Error('unreachable');
  return only;
}

/** The Pod-creation webhook of a Mutating/ValidatingWebhookConfiguration (pods.mutate / pods.validate). */
export function webhookOf(cfg: Obj): Obj {
  return webhookNamed(cfg, kindOf(cfg) === 'MutatingWebhookConfiguration' ? 'pods.mutate.mountgate.io' : 'pods.validate.mountgate.io');
}

/** The webhook of that name; a configuration holds each name once, and nothing but the chart's webhooks. */
export function webhookNamed(cfg: Obj, name: string): Obj {
  const hooks = list(get(cfg, 'webhooks'), `${kindOf(cfg)}.webhooks`);
  const names = hooks.map((hook) => (isObj(hook) ? hook['name'] : undefined));
  const known = ['pods.mutate.mountgate.io', 'pods.validate.mountgate.io', 'annotations.validate.mountgate.io', 'mountpolicies.validate.mountgate.io'];
  if (new Set(names).size !== names.length || names.some((n) => typeof n !== 'string' || !known.includes(n))) {
    throw new Error(`${kindOf(cfg)} has webhooks ${JSON.stringify(names)}, expected distinct names among ${JSON.stringify(known)}`);
  }
  return obj(hooks[names.indexOf(name)], `${kindOf(cfg)} webhook ${name}`);
}

/** The container named `name` of a Pod spec. */
export function container(podSpec: unknown, name: string): Obj {
  const cs = list(get(podSpec, 'containers'), 'containers');
  const c = cs.find((x) => isObj(x) && x['name'] === name);
  return obj(c, `container ${name}`);
}

/** The value following `flag` in an argument list. */
export function flagValue(args: readonly unknown[], flag: string): string {
  const i = args.indexOf(flag);
  if (i < 0 || i + 1 >= args.length) throw new Error(`${flag} not in args ${JSON.stringify(args)}`);
  return str(args[i + 1], flag);
}

/** Helm's error text for a schema failure or a `fail` in a template. */
export function failureText(res: RunResult): string {
  return `${res.stderr}\n${res.stdout}`;
}

/**
 * The annotations webhook's matchCondition as the chart writes it for these keys (the policy
 * annotation, then the sandbox-user annotation); e2e shows what it sends through a real API server.
 */
export function touchesAnnotationsCel(keys: readonly string[]): string {
  const inNew = (key: string): string => `(has(object.metadata.annotations) && '${key}' in object.metadata.annotations)`;
  const inOld = (key: string): string => `(has(oldObject.metadata.annotations) && '${key}' in oldObject.metadata.annotations)`;
  const touched = (key: string): string =>
    `(${inNew(key)} ? (!${inOld(key)} || object.metadata.annotations['${key}'] != oldObject.metadata.annotations['${key}']) : ${inOld(key)})`;
  return `request.operation == 'CREATE' ? (${keys.map(inNew).join(' || ')}) : (${keys.map(touched).join(' || ')})`;
}
