/**
 * Every rule class, through a real API server: the create is refused, the API error carries
 * mountgate's own reason behind the API server's "admission webhook ... denied the request" prefix,
 * and nothing is stored.
 */
import { expect } from 'chai';
import type { CoreV1Api } from '@kubernetes/client-node';
import { TEST_USERS } from './controlplane.js';
import { apiError, deletePod, isNotFound, sandboxPod, uniqueName } from './env.js';
import { container, injectedVolume, volumeName } from './expect.js';
import { e2e } from './hooks.js';

interface Case {
  readonly title: string;
  readonly annotation: unknown;
  /** Who creates the Pod; the admin when absent. */
  readonly as?: (typeof TEST_USERS)[keyof typeof TEST_USERS];
  /** mountgate's reason, after the API server's and mountgate's openings: the whole text, or a pattern. */
  readonly reason: string | RegExp;
}

/** The API server's words around a webhook's denial, and mountgate's own opening. */
const PREFIX = (webhook: string): string => `admission webhook "${webhook}" denied the request: `;
const DENIED = 'mountgate denied the Pod: ';
const A = 'metadata.annotations[mountgate.io/mounts]';

const tooMany = Array.from({ length: 11 }, (_, i) => ({ hostPath: `/srv/sandbox/many/${i}`, mountPath: `/mnt/many/${i}` }));

const cases: readonly Case[] = [
  {
    title: 'a hostPath outside the allow-list',
    annotation: [{ hostPath: '/etc', mountPath: '/mnt/etc' }],
    reason: `${A}[0].hostPath: "/etc" is not under any allowed host path`,
  },
  {
    title: 'a hostPath that only shares a string prefix with an allowed one',
    annotation: [{ hostPath: '/srv/sandbox2/x', mountPath: '/mnt/x' }],
    reason: `${A}[0].hostPath: "/srv/sandbox2/x" is not under any allowed host path`,
  },
  {
    title: 'a built-in host path requested through the annotation',
    annotation: [{ hostPath: '/skills/private', mountPath: '/mnt/private' }],
    reason: `${A}[0].hostPath: "/skills/private" is not under any allowed host path`,
  },
  {
    title: 'path traversal in hostPath',
    annotation: [{ hostPath: '/srv/sandbox/../../etc', mountPath: '/mnt/etc' }],
    reason: `${A}[0].hostPath: "/srv/sandbox/../../etc" has a ".." segment`,
  },
  {
    title: 'path traversal in mountPath (deer-flow spelling)',
    annotation: [{ host_path: '/srv/sandbox/a', container_path: '/mnt/a/../../proc' }],
    reason: `${A}[0].container_path: "/mnt/a/../../proc" has a ".." segment`,
  },
  {
    title: 'a reserved mount target',
    annotation: [{ hostPath: '/srv/sandbox/a', mountPath: '/mnt/skills/extra' }],
    reason: `${A}[0].mountPath: "/mnt/skills/extra" is inside the reserved path "/mnt/skills"`,
  },
  {
    title: 'a system mount target',
    annotation: [{ hostPath: '/srv/sandbox/a', mountPath: '/proc/self' }],
    reason: `${A}[0].mountPath: "/proc/self" is inside the reserved path "/proc"`,
  },
  {
    title: 'a read-write mount under a read-only prefix',
    annotation: [{ hostPath: '/srv/models/qwen', mountPath: '/mnt/models', readOnly: false }],
    reason: `${A}[0].readOnly: "/srv/models/qwen" is under the read-only prefix "/srv/models" and must be mounted read-only`,
  },
  {
    title: 'more mounts than maxMounts',
    annotation: tooMany,
    reason: `${A}: asks for 11 mounts, more than maxMounts (10)`,
  },
  {
    title: 'a requester who is not listed',
    annotation: [{ hostPath: '/srv/sandbox/bob', mountPath: '/mnt/bob' }],
    as: TEST_USERS.bob,
    reason: 'request.userInfo: user "bob" may not request host mounts (not in requesters)',
  },
  {
    title: 'an annotation that is not JSON',
    annotation: '[{hostPath: /srv/sandbox}',
    // The words in brackets are V8's JSON.parse message, which varies between Node versions.
    reason: /^metadata\.annotations\[mountgate\.io\/mounts\]: is not valid JSON \(.+\)$/,
  },
  {
    title: 'a string where readOnly must be a boolean',
    annotation: [{ hostPath: '/srv/sandbox/a', mountPath: '/mnt/a', readOnly: 'true' }],
    reason: `${A}[0].readOnly: must be a boolean (true or false)`,
  },
  {
    title: 'both spellings of one field',
    annotation: [{ hostPath: '/srv/sandbox/a', host_path: '/srv/sandbox/a', mountPath: '/mnt/a' }],
    reason: `${A}[0]: gives both hostPath and host_path; use one`,
  },
  {
    title: 'two requests for one mountPath with different hostPaths',
    annotation: [
      { hostPath: '/srv/sandbox/a', mountPath: '/mnt/a' },
      { hostPath: '/srv/sandbox/b', mountPath: '/mnt/a' },
    ],
    reason: `${A}[1].mountPath: "/mnt/a" is also requested by entry [0] with a different hostPath or readOnly`,
  },
];

describe('e2e: every rule class is refused by the API server with mountgate\'s reason', () => {
  for (const c of cases) {
    it(`refuses ${c.title}`, async () => {
      const env = e2e();
      const client: CoreV1Api = c.as === undefined ? env.core : env.coreAs(c.as);
      const name = uniqueName('denied');
      try {
        const status = await apiError(client.createNamespacedPod({ namespace: env.enabledNs, body: sandboxPod(name, c.annotation) }));
        expect([status.code, status.reason]).to.deep.equal([403, 'Forbidden']);
        expect(status.message.startsWith(PREFIX(env.mutateWebhook)), status.message).to.equal(true);
        const reason = status.message.slice(PREFIX(env.mutateWebhook).length);
        expect(reason.startsWith(DENIED), reason).to.equal(true);
        if (typeof c.reason === 'string') expect(reason.slice(DENIED.length)).to.equal(c.reason);
        else expect(reason.slice(DENIED.length)).to.match(c.reason);
        expect(await isNotFound(env.core.readNamespacedPod({ namespace: env.enabledNs, name }))).to.equal(true);
      } finally {
        await deletePod(env.core, env.enabledNs, name);
      }
    });
  }

  it('names every broken rule of one Pod in one message', async () => {
    const env = e2e();
    const name = uniqueName('denied');
    try {
      const status = await apiError(
        env.core.createNamespacedPod({
          namespace: env.enabledNs,
          body: sandboxPod(name, [
            { hostPath: '/etc', mountPath: '/mnt/etc' },
            { hostPath: '/srv/sandbox/a', mountPath: '/mnt/user-data' },
          ]),
        }),
      );
      expect(status).to.deep.equal({
        code: 403,
        reason: 'Forbidden',
        message:
          `${PREFIX(env.mutateWebhook)}${DENIED}` +
          `${A}[0].hostPath: "/etc" is not under any allowed host path; ` +
          `${A}[1].mountPath: "/mnt/user-data" is inside the reserved path "/mnt/user-data"`,
      });
    } finally {
      await deletePod(env.core, env.enabledNs, name);
    }
  });

  // The positive controls for the requester rule: listed by name, listed by group.
  for (const user of [TEST_USERS.alice, TEST_USERS.carol]) {
    it(`lets ${user.name} (listed ${user.groups.length > 0 ? 'by group' : 'by name'}) request mounts`, async () => {
      const env = e2e();
      const name = uniqueName(`by-${user.name}`);
      try {
        const created = await env.coreAs(user).createNamespacedPod({
          namespace: env.enabledNs,
          body: sandboxPod(name, [{ hostPath: `/srv/sandbox/${user.name}`, mountPath: '/mnt/workspace' }]),
        });
        const hostPath = `/srv/sandbox/${user.name}`;
        expect(created.spec?.volumes).to.deep.include(injectedVolume(hostPath, 'DirectoryOrCreate'));
        expect(container(created, 'sandbox').volumeMounts).to.deep.include({ name: volumeName(hostPath), mountPath: '/mnt/workspace' });
      } finally {
        await deletePod(env.core, env.enabledNs, name);
      }
    });
  }
});
