/** Policy shapes that let one view plant a symbolic link above another's mounts: whole warnings, in order. */
import { expect } from 'chai';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { linkPlanterWarnings, MAX_LINK_PLANTER_STEPS } from '../../src/policy/link-planters.js';
import { parsePolicy } from '../../src/policy/load.js';

const CONSEQUENCE = 'a sandbox that mounts it can plant a symbolic link there that leads those mounts elsewhere on the node, even with volumeRoot: writableAncestor';

interface Row {
  readonly name: string;
  readonly allowed: ReadonlyArray<{ readonly pathPrefix: string; readonly readOnly?: boolean }>;
  readonly builtin?: ReadonlyArray<{ readonly pathPrefix: string; readonly readOnly?: boolean }>;
  readonly expected: readonly string[];
}

const ROWS: readonly Row[] = [
  {
    name: 'a {namespace} entry that names another namespace tree’s parent',
    allowed: [{ pathPrefix: '/srv/{namespace}' }, { pathPrefix: '/srv/tenants/{namespace}' }],
    expected: [
      `allowedHostPaths[0]: "/srv/{namespace}" is read-write and, where {namespace} is "tenants", names "/srv/tenants", above the paths of allowedHostPaths[1] ("/srv/tenants/{namespace}") for other namespaces, users or sandbox users: ${CONSEQUENCE}`,
    ],
  },
  {
    name: 'none below the same placeholder: only the same namespace names it',
    allowed: [{ pathPrefix: '/srv/{namespace}' }, { pathPrefix: '/srv/{namespace}/data', readOnly: true }],
    expected: [],
  },
  {
    name: 'a {user} entry above a {namespace} entry',
    allowed: [{ pathPrefix: '/srv/{user}' }, { pathPrefix: '/srv/{namespace}/x', readOnly: true }],
    expected: [
      `allowedHostPaths[0]: "/srv/{user}" is read-write and, where {user} is the other request's {namespace}, names "/srv/{namespace}", above the paths of allowedHostPaths[1] ("/srv/{namespace}/x") for other namespaces, users or sandbox users: ${CONSEQUENCE}`,
    ],
  },
  {
    name: 'a {sandboxUser} entry above a "*" entry',
    allowed: [{ pathPrefix: '/srv/{sandboxUser}' }, { pathPrefix: '/srv/*/shared', readOnly: true }],
    expected: [
      `allowedHostPaths[0]: "/srv/{sandboxUser}" is read-write and, where {sandboxUser} is any name, names "/srv/*", above the paths of allowedHostPaths[1] ("/srv/*/shared") for other namespaces, users or sandbox users: ${CONSEQUENCE}`,
    ],
  },
  {
    name: 'none where every view may write it anyway ("*")',
    allowed: [{ pathPrefix: '/srv/*' }, { pathPrefix: '/srv/{namespace}' }, { pathPrefix: '/srv/tenants/{namespace}' }],
    expected: [],
  },
  {
    name: 'none from a read-only entry',
    allowed: [{ pathPrefix: '/srv/{namespace}', readOnly: true }, { pathPrefix: '/srv/tenants/{namespace}' }],
    expected: [],
  },
  {
    name: 'none at the root itself: the view below may write the same directory',
    allowed: [{ pathPrefix: '/srv/team/{namespace}' }, { pathPrefix: '/srv/team/{namespace}/proj', readOnly: true }, { pathPrefix: '/srv/team/{user}' }],
    expected: [],
  },
  {
    name: 'names three entries and counts the rest',
    allowed: [
      { pathPrefix: '/srv/{namespace}' },
      { pathPrefix: '/srv/a/{namespace}' },
      { pathPrefix: '/srv/b/{namespace}' },
      { pathPrefix: '/srv/c/{namespace}' },
      { pathPrefix: '/srv/d/{namespace}' },
    ],
    expected: [
      `allowedHostPaths[0]: "/srv/{namespace}" is read-write and, where {namespace} is "a", names "/srv/a", above the paths of allowedHostPaths[1] ("/srv/a/{namespace}"), allowedHostPaths[2] ("/srv/b/{namespace}"), allowedHostPaths[3] ("/srv/c/{namespace}") and 1 more for other namespaces, users or sandbox users: ${CONSEQUENCE}`,
    ],
  },
  {
    name: 'a read-write built-in above a requestable entry',
    allowed: [{ pathPrefix: '/srv/sandbox/{namespace}' }],
    builtin: [{ pathPrefix: '/srv/sandbox' }],
    expected: [
      `builtinHostPaths[0]: "/srv/sandbox" is read-write and lies above the paths of allowedHostPaths[0] ("/srv/sandbox/{namespace}"), where no read-write allowedHostPaths entry covers it: ${CONSEQUENCE}`,
    ],
  },
  {
    name: 'none from a built-in a read-write request could name too',
    allowed: [{ pathPrefix: '/srv/sandbox' }, { pathPrefix: '/srv/sandbox/threads/x/ro', readOnly: true }],
    builtin: [{ pathPrefix: '/srv/sandbox/threads' }],
    expected: [],
  },
  {
    name: 'none from a read-only built-in, nor from one beside the entries',
    allowed: [{ pathPrefix: '/srv/models/{namespace}' }],
    builtin: [{ pathPrefix: '/srv/models', readOnly: true }, { pathPrefix: '/srv/threads' }],
    expected: [],
  },
];

describe('policy: link planters', () => {
  for (const row of ROWS) {
    it(row.name, () => {
      const policy = parsePolicy(JSON.stringify({ allowedHostPaths: row.allowed, builtinHostPaths: row.builtin ?? [] }), 'policy.json');
      expect(linkPlanterWarnings(policy.spec)).to.deep.equal(row.expected);
    });
  }

  it('stops short on a policy too large to look through, and says so last', () => {
    const allowed = [{ pathPrefix: '/srv/{user}' }, ...Array.from({ length: 1500 }, (_, index) => ({ pathPrefix: `/srv/{namespace}/d${index}/x` }))];
    const warnings = linkPlanterWarnings(parsePolicy(JSON.stringify({ allowedHostPaths: allowed }), 'policy.json').spec);
    expect(warnings.at(-1)).to.equal(
      `the policy's entries are too many to look through for such shapes in full: ${MAX_LINK_PLANTER_STEPS} comparisons were made and the rest left out`,
    );
  });

  it('finds nothing to say of the example policies', async () => {
    const dir = join(import.meta.dirname, '../../examples');
    const files = (await readdir(dir)).filter((name) => name.endsWith('-policy.yaml'));
    expect(files).to.have.length.greaterThan(2);
    for (const name of files) {
      const policy = parsePolicy(await readFile(join(dir, name), 'utf8'), name);
      expect(linkPlanterWarnings(policy.spec), name).to.deep.equal([]);
    }
  });
});
