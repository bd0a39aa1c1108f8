/** The one line check prints of a policy whose read-write requests are mounted from the paths they name. */
import { expect } from 'chai';
import { parsePolicy } from '../../src/policy/load.js';
import { requestedRootWarning } from '../../src/policy/requested-root.js';

const TAIL =
  ': each mount is the path its request names, so a symbolic link one request plants under such an entry leads a later request through it anywhere on the node; ' +
  'volumeRoot: writableAncestor mounts each request from a root that a link planted below it cannot lead out of';

const ROWS: ReadonlyArray<{ readonly name: string; readonly policy: Record<string, unknown>; readonly expected: string | undefined }> = [
  {
    name: 'one read-write entry, named with its index',
    policy: { allowedHostPaths: [{ pathPrefix: '/srv/models', readOnly: true }, { pathPrefix: '/srv/sandbox' }] },
    expected: `volumeRoot: requested (the default) and a path below allowedHostPaths[1] "/srv/sandbox" may be requested read-write${TAIL}`,
  },
  {
    name: 'the first of several, and how many more',
    policy: { allowedHostPaths: [{ pathPrefix: '/srv/{namespace}' }, { pathPrefix: '/srv/a' }, { pathPrefix: '/srv/b' }] },
    expected: `volumeRoot: requested (the default) and a path below allowedHostPaths[0] "/srv/{namespace}" may be requested read-write (and below 2 more such entries)${TAIL}`,
  },
  {
    name: 'one more, in the singular',
    policy: { allowedHostPaths: [{ pathPrefix: '/srv/a' }, { pathPrefix: '/srv/b' }], volumeRoot: 'requested' },
    expected: `volumeRoot: requested (the default) and a path below allowedHostPaths[0] "/srv/a" may be requested read-write (and below 1 more such entry)${TAIL}`,
  },
  {
    name: 'nothing for a read-write entry a read-only built-in at the same prefix makes read-only',
    policy: { allowedHostPaths: [{ pathPrefix: '/srv' }], builtinHostPaths: [{ pathPrefix: '/srv', readOnly: true }] },
    expected: undefined,
  },
  {
    name: 'nothing for {sandboxUser} when no one may name a sandbox user',
    policy: { allowedHostPaths: [{ pathPrefix: '/srv/users/{sandboxUser}' }] },
    expected: undefined,
  },
  {
    name: '{sandboxUser} when a trusted provisioner may name one',
    policy: { allowedHostPaths: [{ pathPrefix: '/srv/users/{sandboxUser}' }], trustedProvisioners: ['group:provisioners'] },
    expected: `volumeRoot: requested (the default) and a path below allowedHostPaths[0] "/srv/users/{sandboxUser}" may be requested read-write${TAIL}`,
  },
  {
    name: 'nothing for {user} when only a service account may request (its username fills no placeholder)',
    policy: { allowedHostPaths: [{ pathPrefix: '/srv/home/{user}' }], requesters: ['system:serviceaccount:deer-flow:provisioner'] },
    expected: undefined,
  },
  {
    name: '{user} when a listed user may request',
    policy: { allowedHostPaths: [{ pathPrefix: '/srv/home/{user}' }, { pathPrefix: '/srv/shared', readOnly: true }], requesters: ['alice'] },
    expected: `volumeRoot: requested (the default) and a path below allowedHostPaths[0] "/srv/home/{user}" may be requested read-write${TAIL}`,
  },
  {
    name: 'a read-write entry with read-only entries below it, whose other paths stay read-write',
    policy: { allowedHostPaths: [{ pathPrefix: '/srv' }, { pathPrefix: '/srv/*/models', readOnly: true }] },
    expected: `volumeRoot: requested (the default) and a path below allowedHostPaths[0] "/srv" may be requested read-write${TAIL}`,
  },
  {
    name: 'nothing with volumeRoot: writableAncestor',
    policy: { allowedHostPaths: [{ pathPrefix: '/srv/sandbox' }], volumeRoot: 'writableAncestor' },
    expected: undefined,
  },
  {
    name: 'nothing when every request is read-only (a read-write built-in cannot be requested)',
    policy: { allowedHostPaths: [{ pathPrefix: '/srv/models', readOnly: true }], builtinHostPaths: [{ pathPrefix: '/srv' }] },
    expected: undefined,
  },
];

describe('policy: the volumeRoot: requested warning', () => {
  for (const row of ROWS) {
    it(row.name, () => {
      expect(requestedRootWarning(parsePolicy(JSON.stringify(row.policy), 'policy.json'))).to.equal(row.expected);
    });
  }
});
