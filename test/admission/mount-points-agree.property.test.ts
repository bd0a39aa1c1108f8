/**
 * /mutate looks ahead at the mount points of the Pod it would answer with (mountPointsAtCreation), and
 * /validate judges them inside checkHostPathVolumes; each works out the Pod's read-only volumes itself.
 * If the two ever differ, /mutate answers with a patch /validate refuses, or names another first reason.
 * Here both answer the same, violation for violation, on Pods that nest mounts, termination files,
 * working directories and block devices in hand-written and mountgate volumes (some mount points spelt
 * apart, "/a/b" and "/a/b/"), under both handWrittenHostPaths settings.
 */
import { expect } from 'chai';
import fc from 'fast-check';
import { checkHostPathVolumes } from '../../src/admission/host-paths.js';
import { mountPointsAtCreation } from '../../src/admission/mount-points.js';
import { requestFillings } from '../../src/admission/placeholders.js';
import { isCheckedPod } from '../../src/admission/pod.js';
import { policyOf } from '../helpers/policies.js';
import { expectedVolumeName, requestFor } from '../helpers/pods.js';

const RUNS = Number(process.env.MOUNTGATE_FUZZ_RUNS ?? 2000) / 4;
const DATA_WORK = {
  allowedHostPaths: [{ pathPrefix: '/srv/models', readOnly: true }, { pathPrefix: '/srv/models/scratch' }, { pathPrefix: '/srv/sandbox' }, { pathPrefix: '/data/work' }],
  builtinHostPaths: [{ pathPrefix: '/skills', readOnly: true }, { pathPrefix: '/data', readOnly: true }],
};
const POLICIES = [policyOf(DATA_WORK), policyOf({ ...DATA_WORK, handWrittenHostPaths: 'builtin' })];

const HOST_PATHS = ['/srv/models', '/srv/models/scratch', '/srv/sandbox', '/data', '/data/work', '/skills', '/etc', '/srv//x'];
const volume = fc.record({
  injected: fc.boolean(),
  path: fc.constantFrom(...HOST_PATHS),
  type: fc.constantFrom('Directory', 'DirectoryOrCreate', undefined),
});
const place = fc.constantFrom('/', '/a', '/a/b', '/a/b/', '/a/b/c', '/a//b/c', '/a/scratch', '/a/work', '/etc', '/etc/hosts', 'a/b', '/dev/termination-log');
const container = fc.record({
  mounts: fc.array(fc.record({ volume: fc.nat(7), at: place, readOnly: fc.boolean() }), { maxLength: 5 }),
  terminationMessagePath: fc.option(place, { nil: undefined }),
  workingDir: fc.option(place, { nil: undefined }),
  devices: fc.array(place, { maxLength: 2 }),
});

describe(`property: /mutate's look-ahead at mount points agrees with /validate's (${RUNS} cases)`, () => {
  it('mountPointsAtCreation names exactly the mount-point violations of checkHostPathVolumes at creation', () => {
    let refused = 0;
    fc.assert(
      fc.property(fc.array(volume, { minLength: 1, maxLength: 5 }), fc.array(container, { minLength: 1, maxLength: 3 }), fc.nat(1), (volumes, containers, which) => {
        const named = volumes.map((v, index) => ({ name: v.injected ? expectedVolumeName(`${v.path}#${index}`) : `v${index}`, ...v }));
        const pod = {
          apiVersion: 'v1',
          kind: 'Pod',
          metadata: { name: 'p', namespace: 'agents' },
          spec: {
            volumes: [...named.map((v) => ({ name: v.name, hostPath: { path: v.path, ...(v.type === undefined ? {} : { type: v.type }) } })), { name: 'empty', emptyDir: {} }, { name: 'disk', persistentVolumeClaim: { claimName: 'disk' } }],
            initContainers: containers.slice(1).map((c, index) => ({ name: `init${index}`, image: 'i', ...shape(c) })),
            containers: [{ name: 'sandbox', image: 's', ...shape(containers[0] ?? { mounts: [], terminationMessagePath: undefined, workingDir: undefined, devices: [] }) }],
          },
        };
        function shape(c: (typeof containers)[number]): Record<string, unknown> {
          return {
            volumeMounts: c.mounts.map((m) => ({ name: named[m.volume]?.name ?? 'empty', mountPath: m.at, readOnly: m.readOnly })),
            ...(c.terminationMessagePath === undefined ? {} : { terminationMessagePath: c.terminationMessagePath }),
            ...(c.workingDir === undefined ? {} : { workingDir: c.workingDir }),
            ...(c.devices.length === 0 ? {} : { volumeDevices: c.devices.map((devicePath) => ({ name: 'disk', devicePath })) }),
          };
        }
        if (!isCheckedPod(pod)) throw new Error('the generated Pod is not readable');
        const policy = POLICIES[which] ?? policyOf();
        const fillings = requestFillings(pod, policy, requestFor(pod));
        const validated = checkHostPathVolumes(pod, policy, fillings, true).filter(
          (v) => v.rule === 'host-path-volume-creates' && (/\.(mountPath|terminationMessagePath|workingDir|devicePath)$/.test(v.field) || v.message.includes('mount points inside')),
        );
        expect(mountPointsAtCreation(pod, policy, fillings)).to.deep.equal(validated);
        if (validated.length > 0) refused++;
      }),
      { numRuns: RUNS },
    );
    // Not vacuous: many cases nest something inside a read-only mount.
    expect(refused, 'cases with mount-point violations').to.be.greaterThan(RUNS / 10);
  });
});
