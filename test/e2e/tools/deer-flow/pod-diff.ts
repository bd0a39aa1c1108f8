/**
 * Field-by-field comparison of two stored Pods: the one deer-flow's provisioner created and the
 * model's, dry-run through the same API server. Pure: no I/O.
 */

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };

/** One field where the two Pods differ; undefined where a Pod lacks the field. */
export interface Difference {
  readonly field: string;
  readonly model: Json | undefined;
  readonly real: Json | undefined;
}

/**
 * A value as JSON would carry it: a Pod built in code may hold Date objects and undefined fields,
 * which would otherwise compare unequal to the same Pod read as the API server wrote it.
 */
export function plainJson(value: unknown): Json | undefined {
  if (value === null || typeof value === 'boolean' || typeof value === 'string') return value;
  if (typeof value === 'number') return Number.isFinite(value) ? value : null;
  if (value instanceof Date) return value.toISOString();
  if (Array.isArray(value)) return value.map((item) => plainJson(item) ?? null);
  if (typeof value === 'object') {
    const out: { [key: string]: Json } = {};
    for (const [key, item] of Object.entries(value)) {
      const plain = plainJson(item);
      if (plain !== undefined) out[key] = plain;
    }
    return out;
  }
  return undefined;
}

/** Set by the API server on every write (or by the kubelet), so they differ between any two Pods. */
const SERVER_SET_METADATA = ['uid', 'resourceVersion', 'creationTimestamp', 'managedFields', 'generation'];

/** A stored Pod without the fields the API server sets per write, and without its status. */
export function comparablePod(pod: unknown): Json {
  const plain = plainJson(pod);
  if (!isObject(plain)) throw new Error('a Pod must be an object');
  const rest = { ...plain };
  delete rest.status;
  const metadata = rest.metadata;
  if (isObject(metadata)) rest.metadata = Object.fromEntries(Object.entries(metadata).filter(([key]) => !SERVER_SET_METADATA.includes(key)));
  return rest;
}

function isObject(value: Json | undefined): value is { [key: string]: Json } {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function same(a: Json | undefined, b: Json | undefined): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/** The `name` of each element, when every element of the list has a distinct one (volumes, containers, mounts, env). */
function namesOf(list: readonly Json[]): string[] | undefined {
  const names = list.map((item) => (isObject(item) && typeof item.name === 'string' ? item.name : undefined));
  if (names.some((name) => name === undefined)) return undefined;
  const defined = names.filter((name): name is string => name !== undefined);
  return new Set(defined).size === defined.length ? defined : undefined;
}

function join(at: string, key: string): string {
  return at === '' ? key : `${at}.${key}`;
}

/**
 * Every field where model and real differ, by path (`spec.volumes[name=extra-0].hostPath.path`).
 * Lists of named things are matched by name, so that one missing volume is one difference rather
 * than a shift of every later one; their order is a difference of its own (`... (order)`), since
 * the order of mounts and containers is part of what the provisioner builds.
 */
export function podDifferences(model: Json | undefined, real: Json | undefined, at = ''): Difference[] {
  if (same(model, real)) return [];
  if (Array.isArray(model) && Array.isArray(real)) return listDifferences(model, real, at);
  if (isObject(model) && isObject(real)) {
    const keys = [...new Set([...Object.keys(model), ...Object.keys(real)])];
    return keys.flatMap((key) => podDifferences(model[key], real[key], join(at, key)));
  }
  return [{ field: at === '' ? '(the whole value)' : at, model, real }];
}

function listDifferences(model: readonly Json[], real: readonly Json[], at: string): Difference[] {
  const modelNames = namesOf(model);
  const realNames = namesOf(real);
  if (modelNames === undefined || realNames === undefined) {
    return Array.from({ length: Math.max(model.length, real.length) }, (_, i) => podDifferences(model[i], real[i], `${at}[${i}]`)).flat();
  }
  const out: Difference[] = [];
  const inBoth = modelNames.filter((name) => realNames.includes(name));
  const order = (names: readonly string[]): string => names.filter((name) => inBoth.includes(name)).join(',');
  if (order(modelNames) !== order(realNames)) out.push({ field: `${at} (order)`, model: order(modelNames), real: order(realNames) });
  for (const name of [...new Set([...modelNames, ...realNames])]) {
    const pick = (list: readonly Json[], names: readonly string[]): Json | undefined => list[names.indexOf(name)];
    out.push(...podDifferences(pick(model, modelNames), pick(real, realNames), `${at}[name=${name}]`));
  }
  return out;
}
