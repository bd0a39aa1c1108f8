/**
 * The MountPolicy CRD (templates/mountpolicy-crd.yaml) against mountgate's own spec schema
 * (mountPolicySpecSchema in src/policy/mount-policy.ts, the truth for the fields): the same keys,
 * types and required keys, and on generated specs the same verdicts. The CRD's structural schema
 * runs here through ajv, with unknown fields refused as kubectl's strict field validation refuses
 * them (the API server would otherwise prune them), except in spec and its allowedHostPaths entries,
 * where the CRD keeps them for mountgate's webhook to refuse (schemaProblems); its CEL rules run on the same generated rows in
 * a real API server, in test/chart/cluster/mountpolicy.ts. Rules only the CRD has (list sizes,
 * unique pathPrefix, maxMounts at most 1000) are named in mountpolicy-specs.ts and left out.
 */
import { Ajv } from 'ajv';
import { expect } from 'chai';
import { mountPolicySpecSchema } from '../../src/policy/mount-policy.js';
import { get, isObj, list, obj, one, render, str, type Obj } from './helm.js';
import { CRD_MAX_ITEMS, CRD_MAX_MOUNTS, ROW_SETS, crdOnlyRule, schemaProblems, specRows } from './mountpolicy-specs.js';

/** A field's shape in words both schemas can be brought to. */
interface Shape {
  readonly type: string;
  readonly required?: readonly string[];
  readonly properties?: Readonly<Record<string, Shape>>;
  readonly items?: Shape;
}

function yupShape(description: unknown): Shape {
  const d = obj(description, 'yup description');
  const tests = list(d['tests'], 'tests').map((t) => get(t, 'name'));
  const type = str(d['type'], 'type');
  if (type === 'number') return { type: tests.includes('integer') ? 'integer' : 'number' };
  if (type === 'array') return { type, items: yupShape(d['innerType']) };
  if (type === 'object') {
    const fields = obj(d['fields'], 'fields');
    const required = Object.entries(fields).filter(([, f]) => get(f, 'optional') === false).map(([k]) => k);
    return { type, ...(required.length > 0 ? { required } : {}), properties: Object.fromEntries(Object.entries(fields).map(([k, f]) => [k, yupShape(f)])) };
  }
  return { type };
}

function crdShape(node: unknown): Shape {
  const n = obj(node, 'schema node');
  const type = str(n['type'], 'type');
  if (type === 'array') return { type, items: crdShape(n['items']) };
  if (type === 'object') {
    const required = n['required'] === undefined ? [] : list(n['required'], 'required').map((r) => str(r, 'required key'));
    const props = obj(n['properties'], 'properties');
    return { type, ...(required.length > 0 ? { required } : {}), properties: Object.fromEntries(Object.entries(props).map(([k, v]) => [k, crdShape(v)])) };
  }
  return { type };
}

/** The schema for ajv: every object refuses unknown keys (kubectl's --validate=strict, the default), but where the CRD keeps them for mountgate's webhook. */
function strict(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(strict);
  if (!isObj(node)) return node;
  const out: Obj = Object.fromEntries(Object.entries(node).map(([k, v]) => [k, strict(v)]));
  if (out['type'] === 'object' && isObj(out['properties']) && out['x-kubernetes-preserve-unknown-fields'] !== true) out['additionalProperties'] = false;
  return out;
}

function specSchemaOf(docs: Obj[]): Obj {
  const crd = one(docs, 'CustomResourceDefinition', 'mountpolicies.mountgate.io');
  return obj(get(crd, 'spec.versions.0.schema.openAPIV3Schema.properties.spec'), 'spec schema');
}

function rulesOf(node: unknown): string[] {
  const rules = get(node, 'x-kubernetes-validations');
  return rules === undefined ? [] : list(rules, 'rules').map((r) => str(get(r, 'rule'), 'rule'));
}

describe('the MountPolicy CRD agrees with mountgate\'s spec schema', function () {
  let spec: Obj = {};
  let accepts: (value: unknown) => boolean = () => false;
  before(function () {
    spec = specSchemaOf(render({ values: { mountPolicies: { enabled: true } } }));
    const ajv = new Ajv({ strict: false, validateFormats: false, allErrors: true });
    const validate = ajv.compile(obj(strict(spec), 'strict spec schema'));
    accepts = (value) => validate(value) === true;
  });

  it('the same keys, types and required keys, at every level', function () {
    expect(crdShape(spec)).to.deep.equal(yupShape(mountPolicySpecSchema.describe()));
  });

  it('maxMounts: both refuse a negative number; the CRD also caps it', function () {
    const yupMin = list(get(mountPolicySpecSchema.describe(), 'fields.maxMounts.tests'), 'tests').find((t) => get(t, 'name') === 'min');
    expect(get(yupMin, 'params.min')).to.equal(0);
    expect(rulesOf(get(spec, 'properties.maxMounts'))).to.deep.equal(['self >= 0', `self <= ${CRD_MAX_MOUNTS}`]);
  });

  it('the CRD-only bounds are the ones mountpolicy-specs.ts leaves out', function () {
    expect(get(spec, 'properties.allowedHostPaths.maxItems')).to.equal(CRD_MAX_ITEMS);
    expect(get(spec, 'properties.reservedMountPaths.maxItems')).to.equal(CRD_MAX_ITEMS);
    expect(get(spec, 'properties.allowedHostPaths.x-kubernetes-list-map-keys')).to.deep.equal(['pathPrefix']);
  });

  for (const set of ROW_SETS) {
    const bothWays = set.structuralOnly;
    const rows = specRows(set.arbitrary, set.count, set.seed);
    // The path rules are CEL, which ajv does not run: on rows that can break them, only "what
    // mountgate accepts, the structure accepts" holds here (the cluster suite checks both ways).
    it(`${set.name}: ${bothWays ? 'the structural schema and mountgate give the same verdict' : 'the structural schema accepts whatever mountgate accepts'}`, function () {
      const wrong: string[] = [];
      let valid = 0;
      for (const row of rows) {
        const problems = schemaProblems(row.spec);
        const crdOnly = crdOnlyRule(row.spec);
        const structure = accepts(row.spec);
        if (problems.length === 0) valid += 1;
        if (crdOnly !== undefined) {
          if (structure && crdOnly.startsWith('more than')) wrong.push(`${row.name}: the CRD must refuse ${crdOnly}`);
          continue;
        }
        if (problems.length === 0 && !structure) wrong.push(`${row.name}: mountgate accepts it, the CRD's structure refuses it`);
        if (bothWays && problems.length > 0 && structure) wrong.push(`${row.name}: mountgate refuses it (${problems.join('; ')}), the CRD's structure accepts it`);
      }
      expect(wrong).to.deep.equal([]);
      // Rows on both sides, or the comparison says nothing.
      expect(valid, 'rows mountgate accepts').to.be.within(rows.length / 10, (rows.length * 9) / 10);
    });
  }
});
