/**
 * Pods for the baseline e2e test: valid Pods (the API server validates before Pod Security Admission judges) without
 * hostPath volumes, each breaking any of the baseline controls, or none.
 */
import type { V1Pod } from '@kubernetes/client-node';
import fc from 'fast-check';
import { BASELINE_SYSCTLS } from '../../src/admission/pod-security-baseline.js';

/** How one field is drawn: from its usual (allowed) values, or now and then from its rare (refused) ones. */
type Draw = <T, U>(usual: fc.Arbitrary<T>, rare: fc.Arbitrary<U>) => fc.Arbitrary<T | U>;

/** Mostly `usual`, one time in eight `rare`, so that each rare value often decides a Pod's outcome on its own. */
const mostly: Draw = (usual, rare) => fc.oneof({ weight: 7, arbitrary: usual }, { weight: 1, arbitrary: rare });

/** Only `usual`: with some 25 fields drawn by `mostly`, a Pod breaks none about one time in thirty, too seldom to count on. */
const usualOnly: Draw = (usual) => usual;

/** A seccomp or AppArmor profile: none, RuntimeDefault or Localhost (allowed), or Unconfined (refused). */
const profile = (draw: Draw): fc.Arbitrary<{ type: string; localhostProfile?: string } | undefined> =>
  draw(fc.constantFrom(undefined, { type: 'RuntimeDefault' }, { type: 'Localhost', localhostProfile: 'mountgate-test' }), fc.constant({ type: 'Unconfined' }));

const SELINUX_TYPES = fc.constantFrom(undefined, 'container_t', 'container_init_t', 'container_kvm_t', 'container_engine_t');
const SELINUX_BAD_TYPES = fc.constantFrom('spc_t', 'unconfined_t');

const containerContext = (draw: Draw) =>
  fc.record({
    privileged: draw(fc.constantFrom(undefined, false), fc.constant(true)),
    // One bad value at a time, so that each value decides a Pod's outcome on its own now and then.
    added: draw(fc.subarray(['CHOWN', 'NET_BIND_SERVICE', 'KILL', 'SETUID', 'SYS_CHROOT', 'AUDIT_WRITE']), fc.constantFrom('SYS_ADMIN', 'NET_RAW', 'NET_ADMIN', 'SYS_PTRACE', 'ALL').map((bad) => ['CHOWN', bad])),
    seLinuxType: draw(SELINUX_TYPES, SELINUX_BAD_TYPES),
    seLinuxUser: draw(fc.constant(''), fc.constant('system_u')),
    seccompProfile: profile(draw),
    appArmorProfile: profile(draw),
  });
type ContainerContext = ReturnType<typeof containerContext> extends fc.Arbitrary<infer T> ? T : never;

function securityContextOf(c: ContainerContext): Record<string, unknown> {
  const seLinux = { ...(c.seLinuxType ? { type: c.seLinuxType } : {}), ...(c.seLinuxUser ? { user: c.seLinuxUser } : {}) };
  return {
    ...(c.privileged !== undefined ? { privileged: c.privileged } : {}),
    ...(c.added.length > 0 ? { capabilities: { add: c.added } } : {}),
    ...(Object.keys(seLinux).length > 0 ? { seLinuxOptions: seLinux } : {}),
    ...(c.seccompProfile ? { seccompProfile: c.seccompProfile } : {}),
    ...(c.appArmorProfile ? { appArmorProfile: c.appArmorProfile } : {}),
  };
}

const ALLOWED_SYSCTLS = [...BASELINE_SYSCTLS];
const SYSCTL_VALUES: Readonly<Record<string, string>> = {
  'net.ipv4.ip_local_port_range': '32768 60999',
  'net.ipv4.ping_group_range': '0 2147483647',
  'net.ipv4.ip_local_reserved_ports': '8080',
  'net.ipv4.tcp_rmem': '4096 87380 6291456',
  'net.ipv4.tcp_wmem': '4096 16384 4194304',
};

/** A host in a probe or handler: none, an empty one (allowed), or an address (refused). */
const handlerHost = (draw: Draw) => draw(fc.constantFrom(undefined, ''), fc.constant('10.0.0.1'));

/** The fields of a Pod, each drawn by `draw`. */
const fieldsDrawnBy = (draw: Draw) =>
  fc.record({
    hostNetwork: draw(fc.constant(false), fc.constant(true)),
    hostPID: draw(fc.constant(false), fc.constant(true)),
    hostIPC: draw(fc.constant(false), fc.constant(true)),
    podSeccomp: profile(draw),
    podAppArmor: profile(draw),
    podSeLinuxType: draw(SELINUX_TYPES, SELINUX_BAD_TYPES),
    podSeLinuxRole: draw(fc.constant(''), fc.constant('system_r')),
    sysctls: draw(fc.subarray(ALLOWED_SYSCTLS, { maxLength: 4 }), fc.constantFrom(['kernel.msgmax'], ['net.core.somaxconn'], ['net.ipv4.tcp_notsent_lowat'])),
    context: containerContext(draw),
    initContext: containerContext(draw),
    hostPort: draw(fc.constant(false), fc.constant(true)),
    readinessHost: handlerHost(draw),
    livenessTcpHost: handlerHost(draw),
    startupHost: handlerHost(draw),
    preStopHost: handlerHost(draw),
    appArmorAnnotation: draw(fc.constantFrom(undefined, 'runtime/default', 'localhost/mountgate-test'), fc.constant('unconfined')),
  });
type Fields = ReturnType<typeof fieldsDrawnBy> extends fc.Arbitrary<infer T> ? T : never;

/**
 * A Pod breaking any baseline controls; one in ten breaks none by construction, so that Pods both judges admit are
 * common too (about 25 in 200 runs, where the test wants at least 3).
 */
export const generatedPod = fc.oneof({ weight: 9, arbitrary: fieldsDrawnBy(mostly) }, { weight: 1, arbitrary: fieldsDrawnBy(usualOnly) }).map(podOf);

/** A valid Pod (the API server validates before Pod Security Admission judges) with those fields, without hostPath volumes. */
function podOf(g: Fields): V1Pod {
  // The API server takes no net.* sysctl in a Pod on the host's network, and no kernel.* (IPC) one in a Pod in its IPC namespace.
  const chosen: readonly string[] = g.sysctls;
  const sysctls = chosen.filter((name) => !(g.hostNetwork && name.startsWith('net.')) && !(g.hostIPC && name.startsWith('kernel.')));
  const seLinux = { ...(g.podSeLinuxType ? { type: g.podSeLinuxType } : {}), ...(g.podSeLinuxRole ? { role: g.podSeLinuxRole } : {}) };
  const securityContext = {
    ...(g.podSeccomp ? { seccompProfile: g.podSeccomp } : {}),
    ...(g.podAppArmor ? { appArmorProfile: g.podAppArmor } : {}),
    ...(Object.keys(seLinux).length > 0 ? { seLinuxOptions: seLinux } : {}),
    ...(sysctls.length > 0 ? { sysctls: sysctls.map((name) => ({ name, value: SYSCTL_VALUES[name] ?? '1' })) } : {}),
  };
  const host = (value: string | undefined) => (value === undefined ? {} : { host: value });
  // The annotation must agree with a container's field where both are set, so it goes to the init container only when that has none.
  const annotated = g.appArmorAnnotation !== undefined && g.initContext.appArmorProfile === undefined;
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'generated', ...(annotated ? { annotations: { 'container.apparmor.security.beta.kubernetes.io/init': g.appArmorAnnotation ?? '' } } : {}) },
    spec: {
      hostNetwork: g.hostNetwork,
      hostPID: g.hostPID,
      hostIPC: g.hostIPC,
      securityContext,
      initContainers: [{ name: 'init', image: 'busybox', command: ['true'], securityContext: securityContextOf(g.initContext) }],
      containers: [
        {
          name: 'main',
          image: 'busybox',
          securityContext: securityContextOf(g.context),
          // With hostNetwork the API server wants hostPort equal to containerPort.
          ports: [{ containerPort: 8080, ...(g.hostPort ? { hostPort: 8080 } : {}) }],
          readinessProbe: { httpGet: { path: '/', port: 8080, ...host(g.readinessHost) } },
          livenessProbe: { tcpSocket: { port: 8080, ...host(g.livenessTcpHost) } },
          startupProbe: { httpGet: { path: '/', port: 8080, ...host(g.startupHost) } },
          lifecycle: { preStop: { httpGet: { path: '/', port: 8080, ...host(g.preStopHost) } } },
        },
      ],
    },
  };
}
