/** Where one request may plant a symbolic link above another's root: whole warnings, in order. */
import { expect } from 'chai';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { layeredPolicy } from '../../src/policy/layers.js';
import { describeLinkHazards, linkHazards } from '../../src/policy/link-hazards.js';
import { parsePolicy } from '../../src/policy/load.js';
import { compileMountPolicy } from '../../src/policy/mount-policy.js';
import { mountPolicy } from '../helpers/policies.js';

const PROVISIONER = 'system:serviceaccount:deer-flow:provisioner';
const FOLLOWED = 'a symbolic link planted there leads that mount elsewhere on the node, even with volumeRoot: writableAncestor';

type Entries = ReadonlyArray<{ readonly pathPrefix: string; readonly readOnly?: boolean }>;

interface Row {
  readonly name: string;
  readonly allowed: Entries;
  readonly builtin?: Entries;
  readonly trusted?: boolean;
  readonly requesters?: readonly string[];
  readonly handWrittenBuiltin?: boolean;
  /** A MountPolicy of namespace team-a. */
  readonly mountPolicy?: Entries;
  readonly expected: readonly string[];
}

const ROWS: readonly Row[] = [
  {
    name: 'a {namespace} entry that names the parent of other namespaces’ trees',
    allowed: [{ pathPrefix: '/srv/{namespace}' }, { pathPrefix: '/srv/tenants/{namespace}' }],
    expected: [
      `"/srv/tenants" may be mounted read-write where {namespace} = "tenants" (allowedHostPaths[0] "/srv/{namespace}"), and lies above "/srv/tenants/<x>", which may be mounted where {namespace} = "<x>" (allowedHostPaths[1] "/srv/tenants/{namespace}"): ${FOLLOWED}`,
    ],
  },
  {
    name: 'none below the same placeholder: only the same namespace writes it',
    allowed: [{ pathPrefix: '/srv/{namespace}' }, { pathPrefix: '/srv/{namespace}/data', readOnly: true }],
    expected: [],
  },
  {
    name: 'every tree readable, each namespace’s own writable: another namespace reads what the owner may swap',
    allowed: [{ pathPrefix: '/srv/models', readOnly: true }, { pathPrefix: '/srv/models/{namespace}' }],
    expected: [
      `"/srv/models/<x>" may be mounted read-write where {namespace} = "<x>" (allowedHostPaths[1] "/srv/models/{namespace}"), and lies above "/srv/models/<x>/<y>", which may be mounted where {namespace} = "<z>" (allowedHostPaths[0] "/srv/models"): ${FOLLOWED}`,
    ],
  },
  {
    name: 'a shared tree with a read-only place per namespace: roots fall below what others may write',
    allowed: [{ pathPrefix: '/srv/tenants' }, { pathPrefix: '/srv/tenants/{namespace}/reference', readOnly: true }],
    expected: [
      `"/srv/tenants/<x>" may be mounted read-write where {namespace} = "<y>" (allowedHostPaths[0] "/srv/tenants"), and lies above "/srv/tenants/<x>/<z>", which may be mounted where {namespace} = "<x>" (allowedHostPaths[0] "/srv/tenants"): ${FOLLOWED}`,
    ],
  },
  {
    name: 'none where a read-only entry below keeps everyone from writing the shared tree',
    allowed: [{ pathPrefix: '/srv/tenants' }, { pathPrefix: '/srv/tenants/shared', readOnly: true }],
    expected: [],
  },
  {
    name: 'none where "*" gives each tree to every namespace alike',
    allowed: [{ pathPrefix: '/srv/tenants/*' }, { pathPrefix: '/srv/tenants/shared', readOnly: true }],
    expected: [],
  },
  {
    name: 'a read-write built-in above requestable trees',
    allowed: [{ pathPrefix: '/srv/sandbox/{namespace}' }],
    builtin: [{ pathPrefix: '/srv/sandbox' }],
    expected: [
      `"/srv/sandbox" may be carried read-write in a hostPath volume written into the Pod where {namespace} = "<x>" (builtinHostPaths[0] "/srv/sandbox"), and lies above "/srv/sandbox/<x>", which may be mounted where {namespace} = "<x>" (allowedHostPaths[0] "/srv/sandbox/{namespace}"): ${FOLLOWED}`,
    ],
  },
  {
    name: 'a user’s tree, which only a service account may request: another user may write it by hand',
    allowed: [{ pathPrefix: '/srv/models', readOnly: true }, { pathPrefix: '/srv/models/{user}' }],
    requesters: [PROVISIONER],
    expected: [
      `"/srv/models/<x>" may be carried read-write in a hostPath volume written into the Pod where {user} = "<x>" (allowedHostPaths[1] "/srv/models/{user}"), and lies above "/srv/models/<x>/<y>", which may be mounted where {user} not filled (allowedHostPaths[0] "/srv/models"): ${FOLLOWED}`,
    ],
  },
  {
    name: 'none where only a service account may request, and volumes written by hand only carry built-ins',
    allowed: [{ pathPrefix: '/srv/models', readOnly: true }, { pathPrefix: '/srv/models/{user}' }],
    requesters: [PROVISIONER],
    handWrittenBuiltin: true,
    expected: [],
  },
  {
    name: 'a user’s tree that a listed user may request, above what another listed user may read',
    allowed: [{ pathPrefix: '/srv/models', readOnly: true }, { pathPrefix: '/srv/models/{user}' }],
    requesters: ['alice', 'bob'],
    handWrittenBuiltin: true,
    expected: [
      `"/srv/models/alice" may be mounted read-write where {user} = "alice" (allowedHostPaths[1] "/srv/models/{user}"), and lies above "/srv/models/alice/<x>", which may be mounted where {user} = "bob" (allowedHostPaths[0] "/srv/models"): ${FOLLOWED}`,
    ],
  },
  {
    name: 'none for a sandbox user’s own tree',
    allowed: [{ pathPrefix: '/srv/users/{sandboxUser}' }, { pathPrefix: '/srv/models', readOnly: true }],
    trusted: true,
    expected: [],
  },
  {
    name: 'a cluster tree team-a’s MountPolicy narrows, which namespaces without one may write',
    allowed: [{ pathPrefix: '/srv/tenants' }],
    mountPolicy: [{ pathPrefix: '/srv/tenants/team-a' }],
    expected: [
      `"/srv/tenants" may be mounted read-write where {namespace} = "<x>" (allowedHostPaths[0] "/srv/tenants"), and lies above "/srv/tenants/team-a", which may be mounted where {namespace} = "team-a" under its MountPolicies (allowedHostPaths[0] "/srv/tenants", narrowed by MountPolicy team-a/tenant "/srv/tenants/team-a"): ${FOLLOWED}`,
    ],
  },
  {
    name: 'none where the MountPolicy narrows a tree that is the namespace’s own',
    allowed: [{ pathPrefix: '/srv/tenants/{namespace}' }],
    mountPolicy: [{ pathPrefix: '/srv/tenants/{namespace}/work' }],
    expected: [],
  },
  {
    name: 'two unknown names, each twice: a namespace’s and a user’s',
    allowed: [{ pathPrefix: '/s.t', readOnly: true }, { pathPrefix: '/s.t/{namespace}/{namespace}/{user}/{user}' }, { pathPrefix: '/s.t/{namespace}/{namespace}/{namespace}/{namespace}', readOnly: true }],
    expected: [`"/s.t/<x>/<x>/<y>/<y>" may be mounted read-write where {namespace} = "<x>", {user} = "<y>" (allowedHostPaths[1] "/s.t/{namespace}/{namespace}/{user}/{user}"), and lies above "/s.t/<x>/<x>/<y>/<y>/<z>", which may be mounted where {namespace} = "<u>", {user} = "<u>" (allowedHostPaths[0] "/s.t"): ${FOLLOWED}`],
  },
  {
    name: 'a namespace and a user side by side, under a name no placeholder takes',
    allowed: [{ pathPrefix: '/s.t', readOnly: true }, { pathPrefix: '/s.t/{namespace}/{user}' }, { pathPrefix: '/s.t/{namespace}/{namespace}', readOnly: true }],
    expected: [`"/s.t/<x>/<y>" may be mounted read-write where {namespace} = "<x>", {user} = "<y>" (allowedHostPaths[1] "/s.t/{namespace}/{user}"), and lies above "/s.t/<x>/<y>/<z>", which may be mounted where {namespace} = "<u>", {user} = "<u>" (allowedHostPaths[0] "/s.t"): ${FOLLOWED}`],
  },
  {
    name: 'one unknown name twice',
    allowed: [{ pathPrefix: '/s.t', readOnly: true }, { pathPrefix: '/s.t/{namespace}/{namespace}' }],
    expected: [`"/s.t/<x>/<x>" may be mounted read-write where {namespace} = "<x>" (allowedHostPaths[1] "/s.t/{namespace}/{namespace}"), and lies above "/s.t/<x>/<x>/<y>", which may be mounted where {namespace} = "<z>" (allowedHostPaths[0] "/s.t"): ${FOLLOWED}`],
  },
  {
    name: 'a literal with what looks like an unknown name inside it stays as written',
    allowed: [{ pathPrefix: '/srv/team-unknown-1/{namespace}' }, { pathPrefix: '/srv/team-unknown-1/x/{user}', readOnly: true }],
    expected: [`"/srv/team-unknown-1/x/<x>" may be mounted read-write where {namespace} = "x", {user} = "<y>" (allowedHostPaths[0] "/srv/team-unknown-1/{namespace}"), and lies above "/srv/team-unknown-1/x/<x>/<z>", which may be mounted where {namespace} = "<y>", {user} = "<x>" (allowedHostPaths[1] "/srv/team-unknown-1/x/{user}"): ${FOLLOWED}`],
  },
  {
    name: 'one line per pair of entries, five at most, then how many more',
    allowed: [
      { pathPrefix: '/srv/{namespace}' },
      ...['a', 'b', 'c', 'd', 'e', 'f', 'g'].map((name) => ({ pathPrefix: `/srv/${name}/{namespace}`, readOnly: true })),
    ],
    expected: [
      ...['a', 'b', 'c', 'd', 'e'].map(
        (name, index) =>
          // Namespace NAME may not write /srv/NAME (its own read-only /srv/NAME/NAME lies below), but any other tree there.
          `"/srv/${name}/<x>" may be mounted read-write where {namespace} = "${name}" (allowedHostPaths[0] "/srv/{namespace}"), and lies above "/srv/${name}/<x>/<y>", which may be mounted where {namespace} = "<x>" (allowedHostPaths[${index + 1}] "/srv/${name}/{namespace}"): ${FOLLOWED}`,
      ),
      'and 2 more such pairs of entries',
    ],
  },
];

function hazardsOf(row: Row): string[] {
  const cluster = parsePolicy(
    JSON.stringify({
      allowedHostPaths: row.allowed,
      builtinHostPaths: row.builtin ?? [],
      requesters: row.requesters ?? [],
      ...(row.trusted === true ? { trustedProvisioners: ['group:p'] } : {}),
      ...(row.handWrittenBuiltin === true ? { handWrittenHostPaths: 'builtin' } : {}),
    }),
    'policy.json',
  );
  if (row.mountPolicy === undefined) return describeLinkHazards(linkHazards(cluster));
  const layered = layeredPolicy(cluster, { known: true, policies: [compileMountPolicy(mountPolicy({ allowedHostPaths: row.mountPolicy }))] });
  return describeLinkHazards(linkHazards(cluster, { namespace: 'team-a', policy: layered }));
}

describe('policy: link hazards', () => {
  for (const row of ROWS) {
    it(row.name, () => {
      expect(hazardsOf(row)).to.deep.equal(row.expected);
    });
  }

  it('takes requesters no entry spells as alike: 200 of them are searched in full, with the same result as two', () => {
    const policy = (requesters: readonly string[]): string[] =>
      describeLinkHazards(
        linkHazards(parsePolicy(JSON.stringify({ allowedHostPaths: [{ pathPrefix: '/srv/models', readOnly: true }, { pathPrefix: '/srv/models/{user}' }], requesters, handWrittenHostPaths: 'builtin' }), 'policy.json')),
      );
    const many = ['alice', 'bob', ...Array.from({ length: 198 }, (_, index) => `user-${index}`)];
    expect(policy(many)).to.deep.equal(policy(['alice', 'bob'])).and.to.have.length(1);
  });

  it('stops on a policy too large to search in full, and says so last', () => {
    const allowed = [{ pathPrefix: '/srv/{user}' }, ...Array.from({ length: 400 }, (_, index) => ({ pathPrefix: `/srv/{namespace}/d${index}/*/x`, readOnly: index % 2 === 0 }))];
    const result = linkHazards(parsePolicy(JSON.stringify({ allowedHostPaths: allowed }), 'policy.json'));
    expect(result.complete).to.equal(false);
    expect(describeLinkHazards(result).at(-1)).to.equal('the policy is too large to search in full: there may be more such directories');
  });

  it('finds nothing to say of the example policies', async () => {
    const dir = join(import.meta.dirname, '../../examples');
    const files = (await readdir(dir)).filter((name) => name.endsWith('-policy.yaml'));
    expect(files).to.have.length.greaterThan(2);
    for (const name of files) {
      const result = linkHazards(parsePolicy(await readFile(join(dir, name), 'utf8'), name));
      expect(result, name).to.deep.equal({ hazards: [], more: 0, complete: true });
    }
  });
});
