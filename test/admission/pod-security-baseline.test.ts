import { expect } from 'chai';
import { decide } from '../../src/admission/decide.js';
import { BASELINE_SYSCTLS } from '../../src/admission/pod-security-baseline.js';
import { describeViolation } from '../../src/admission/violation.js';
import { policyOf, problemsOf } from '../helpers/policies.js';
import { expectedVolumeName, requestFor, sandboxPod, type RequestOptions } from '../helpers/pods.js';

const POLICY = policyOf();
const SUFFIX = '(podSecurity: baseline)';

type Json = Record<string, unknown>;

/** The sandbox Pod with `spec` fields and its one container's fields merged in. */
function podWith(spec: Json = {}, container: Json = {}, metadata: Json = {}): Json {
  const pod = sandboxPod();
  const base = pod.spec as Json;
  const [sandbox] = base.containers as Json[];
  return {
    ...pod,
    metadata: { ...(pod.metadata as Json), ...metadata },
    spec: { ...base, ...spec, containers: [{ ...sandbox, ...container }] },
  };
}

function validate(pod: unknown, policy = POLICY, options: RequestOptions = {}): string[] | 'allowed' {
  const verdict = decide('validate', requestFor(pod, options), policy);
  return verdict.allowed ? 'allowed' : verdict.violations.map(describeViolation);
}

const C = 'spec.containers[0]';

describe('admission/pod-security-baseline: /validate keeps Pod Security baseline, hostPath volumes aside', () => {
  const rows: ReadonlyArray<{ name: string; pod: Json; expected: string[] | 'allowed' }> = [
    { name: 'the sandbox Pod with its hostPath volume', pod: podWith(), expected: 'allowed' },
    {
      name: 'what baseline allows, written out',
      pod: podWith(
        {
          hostNetwork: false,
          hostPID: false,
          hostIPC: false,
          securityContext: {
            seLinuxOptions: { type: 'container_t', level: 's0:c1,c2' },
            seccompProfile: { type: 'RuntimeDefault' },
            appArmorProfile: { type: 'Localhost', localhostProfile: 'p' },
            sysctls: [{ name: 'net.ipv4.tcp_keepalive_time', value: '60' }],
            windowsOptions: { hostProcess: false },
          },
        },
        {
          securityContext: { privileged: false, allowPrivilegeEscalation: true, capabilities: { add: ['NET_BIND_SERVICE', 'CHOWN'], drop: ['ALL'] }, procMount: 'Default' },
          ports: [{ containerPort: 80, hostPort: 0 }],
          readinessProbe: { httpGet: { path: '/', port: 80, host: '' } },
        },
        { annotations: { 'container.apparmor.security.beta.kubernetes.io/sandbox': 'runtime/default', 'container.apparmor.security.beta.kubernetes.io/x': 'localhost/p' } },
      ),
      expected: 'allowed',
    },
    { name: 'hostNetwork', pod: podWith({ hostNetwork: true }), expected: [`spec.hostNetwork: must not be true: the Pod would share the node's namespace ${SUFFIX}`] },
    {
      name: 'hostPID and hostIPC',
      pod: podWith({ hostPID: true, hostIPC: true }),
      expected: [`spec.hostPID: must not be true: the Pod would share the node's namespace ${SUFFIX}`, `spec.hostIPC: must not be true: the Pod would share the node's namespace ${SUFFIX}`],
    },
    {
      name: 'a privileged container',
      pod: podWith({}, { securityContext: { privileged: true } }),
      expected: [`${C}.securityContext.privileged: must not be true: a privileged container can remount read-only host paths read-write and reach every device of the node ${SUFFIX}`],
    },
    {
      name: 'privileged written as a string (no API server sends it; refused all the same)',
      pod: podWith({}, { securityContext: { privileged: 'true' } }),
      expected: [`${C}.securityContext.privileged: must not be true: a privileged container can remount read-only host paths read-write and reach every device of the node ${SUFFIX}`],
    },
    {
      name: 'SYS_ADMIN among allowed capabilities',
      pod: podWith({}, { securityContext: { capabilities: { add: ['CHOWN', 'SYS_ADMIN'] } } }),
      expected: [
        `${C}.securityContext.capabilities.add[1]: "SYS_ADMIN" is not one of the capabilities baseline allows (AUDIT_WRITE, CHOWN, DAC_OVERRIDE, FOWNER, FSETID, KILL, MKNOD, NET_BIND_SERVICE, SETFCAP, SETGID, SETPCAP, SETUID, SYS_CHROOT) ${SUFFIX}`,
      ],
    },
    {
      name: 'a capability in another spelling',
      pod: podWith({}, { securityContext: { capabilities: { add: ['CAP_CHOWN'] } } }),
      expected: [
        `${C}.securityContext.capabilities.add[0]: "CAP_CHOWN" is not one of the capabilities baseline allows (AUDIT_WRITE, CHOWN, DAC_OVERRIDE, FOWNER, FSETID, KILL, MKNOD, NET_BIND_SERVICE, SETFCAP, SETGID, SETPCAP, SETUID, SYS_CHROOT) ${SUFFIX}`,
      ],
    },
    {
      name: 'a host port',
      pod: podWith({}, { ports: [{ containerPort: 80 }, { containerPort: 22, hostPort: 2222 }] }),
      expected: [`${C}.ports[1].hostPort: 2222 must not be set: the port would open on the node ${SUFFIX}`],
    },
    {
      name: 'a Windows host process, of the Pod and of the container',
      pod: podWith({ securityContext: { windowsOptions: { hostProcess: true } } }, { securityContext: { windowsOptions: { hostProcess: true } } }),
      expected: [
        `spec.securityContext.windowsOptions.hostProcess: must not be true: a Windows host process runs as the node ${SUFFIX}`,
        `${C}.securityContext.windowsOptions.hostProcess: must not be true: a Windows host process runs as the node ${SUFFIX}`,
      ],
    },
    {
      name: 'SELinux: a type, a user and a role',
      pod: podWith({ securityContext: { seLinuxOptions: { type: 'spc_t', user: 'system_u', role: 'system_r' } } }),
      expected: [
        `spec.securityContext.seLinuxOptions.type: "spc_t" is not one of container_t, container_init_t, container_kvm_t, container_engine_t ${SUFFIX}`,
        `spec.securityContext.seLinuxOptions.user: must not be set ${SUFFIX}`,
        `spec.securityContext.seLinuxOptions.role: must not be set ${SUFFIX}`,
      ],
    },
    {
      name: 'seccomp Unconfined, of the Pod and of the container',
      pod: podWith({ securityContext: { seccompProfile: { type: 'Unconfined' } } }, { securityContext: { seccompProfile: { type: 'Unconfined' } } }),
      expected: [
        `spec.securityContext.seccompProfile.type: "Unconfined" is not RuntimeDefault or Localhost ${SUFFIX}`,
        `${C}.securityContext.seccompProfile.type: "Unconfined" is not RuntimeDefault or Localhost ${SUFFIX}`,
      ],
    },
    {
      name: 'AppArmor Unconfined, by field and by annotation',
      pod: podWith({}, { securityContext: { appArmorProfile: { type: 'Unconfined' } } }, { annotations: { 'container.apparmor.security.beta.kubernetes.io/sandbox': 'unconfined' } }),
      expected: [
        `metadata.annotations[container.apparmor.security.beta.kubernetes.io/sandbox]: "unconfined" is not runtime/default or localhost/... ${SUFFIX}`,
        `${C}.securityContext.appArmorProfile.type: "Unconfined" is not RuntimeDefault or Localhost ${SUFFIX}`,
      ],
    },
    {
      name: 'an AppArmor annotation for a container the Pod does not have yet (a later debug container)',
      pod: podWith({}, {}, { annotations: { 'container.apparmor.security.beta.kubernetes.io/debugger': 'unconfined' } }),
      expected: [`metadata.annotations[container.apparmor.security.beta.kubernetes.io/debugger]: "unconfined" is not runtime/default or localhost/... ${SUFFIX}`],
    },
    {
      name: 'an unsafe sysctl',
      pod: podWith({ securityContext: { sysctls: [{ name: 'kernel.shm_rmid_forced', value: '1' }, { name: 'kernel.msgmax', value: '1' }] } }),
      expected: [`spec.securityContext.sysctls[1].name: "kernel.msgmax" is not one of the sysctls baseline allows ${SUFFIX}`],
    },
    {
      name: 'a sysctl only Kubernetes 1.37 allows',
      pod: podWith({ securityContext: { sysctls: [{ name: 'net.ipv4.tcp_notsent_lowat', value: '1' }] } }),
      expected: [`spec.securityContext.sysctls[0].name: "net.ipv4.tcp_notsent_lowat" is not one of the sysctls baseline allows ${SUFFIX}`],
    },
    {
      name: 'an unmasked /proc, also with its own user namespace',
      pod: podWith({ hostUsers: false }, { securityContext: { procMount: 'Unmasked' } }),
      expected: [`${C}.securityContext.procMount: "Unmasked" is not Default ${SUFFIX}`],
    },
    {
      name: 'probe and lifecycle hosts',
      pod: podWith(
        {},
        {
          livenessProbe: { httpGet: { path: '/', port: 80, host: '169.254.169.254' } },
          startupProbe: { tcpSocket: { port: 22, host: '10.0.0.1' } },
          lifecycle: { preStop: { httpGet: { path: '/', port: 80, host: 'node.local' } } },
        },
      ),
      expected: [
        `${C}.livenessProbe.httpGet.host: "169.254.169.254" must not be set: the kubelet would call it from the node ${SUFFIX}`,
        `${C}.startupProbe.tcpSocket.host: "10.0.0.1" must not be set: the kubelet would call it from the node ${SUFFIX}`,
        `${C}.lifecycle.preStop.httpGet.host: "node.local" must not be set: the kubelet would call it from the node ${SUFFIX}`,
      ],
    },
    {
      name: 'an init container and an ephemeral container, in spec order after the Pod fields',
      pod: {
        ...podWith({ hostPID: true }),
        spec: {
          ...(podWith({ hostPID: true }).spec as Json),
          initContainers: [{ name: 'init', image: 'x', securityContext: { capabilities: { add: ['NET_ADMIN'] } } }],
          ephemeralContainers: [{ name: 'debugger', image: 'x', securityContext: { privileged: true } }],
        },
      },
      expected: [
        `spec.hostPID: must not be true: the Pod would share the node's namespace ${SUFFIX}`,
        `spec.initContainers[0].securityContext.capabilities.add[0]: "NET_ADMIN" is not one of the capabilities baseline allows (AUDIT_WRITE, CHOWN, DAC_OVERRIDE, FOWNER, FSETID, KILL, MKNOD, NET_BIND_SERVICE, SETFCAP, SETGID, SETPCAP, SETUID, SYS_CHROOT) ${SUFFIX}`,
        `spec.ephemeralContainers[0].securityContext.privileged: must not be true: a privileged container can remount read-only host paths read-write and reach every device of the node ${SUFFIX}`,
      ],
    },
    {
      name: 'shapes no API server sends: a securityContext that is a list, capabilities.add that is a string',
      pod: { ...podWith({ securityContext: [] }), spec: { ...(podWith({ securityContext: [] }).spec as Json), initContainers: [{ name: 'i', image: 'x', securityContext: { capabilities: { add: 'SYS_ADMIN' } } }] } },
      expected: [`spec.securityContext: must be an object ${SUFFIX}`, `spec.initContainers[0].securityContext.capabilities.add: must be a list ${SUFFIX}`],
    },
    {
      name: 'after every other reason',
      pod: { ...podWith({ hostNetwork: true }), spec: { ...(podWith({ hostNetwork: true }).spec as Json), volumes: [{ name: 'skills', hostPath: { path: '/etc', type: 'Directory' } }] } },
      expected: [
        'spec.volumes[0].hostPath.path: "/etc" is not under any allowed or built-in host path',
        `spec.hostNetwork: must not be true: the Pod would share the node's namespace ${SUFFIX}`,
      ],
    },
  ];
  for (const row of rows) {
    it(row.name, () => expect(validate(row.pod)).to.deep.equal(row.expected));
  }

  it('leaves a Pod without any hostPath volume to Pod Security', () => {
    expect(validate(podWith({ hostPID: true, volumes: [] }, { volumeMounts: [], securityContext: { privileged: true } }))).to.equal('allowed');
  });

  it('judges a Pod whose only hostPath volume is one mountgate added', () => {
    const pod = podWith({ hostPID: true, volumes: [] }, { volumeMounts: [] });
    const mutated = decide('mutate', requestFor({ ...pod, metadata: { name: 's', namespace: 'agents', annotations: { 'mountgate.io/mounts': '[{"hostPath":"/srv/sandbox/a","mountPath":"/w"}]' } } }), POLICY);
    if (!mutated.allowed || mutated.mutated === undefined) throw new Error('the Pod was not mutated');
    expect(validate(mutated.mutated)).to.deep.equal([`spec.hostPID: must not be true: the Pod would share the node's namespace ${SUFFIX}`]);
  });

  it('names 20 and counts the rest for a Pod that breaks it thousands of times', () => {
    const pod = podWith({}, { ports: Array.from({ length: 5000 }, (_, i) => ({ containerPort: 1000 + i, hostPort: 1000 + i })) });
    const reasons = validate(pod);
    expect(reasons).to.have.length(21);
    expect(reasons[20]).to.equal(`spec: 4980 more fields break Pod Security baseline ${SUFFIX}`);
  });

  it('is not /mutate\'s: a privileged Pod asking for a mount is patched, and refused by /validate', () => {
    const pod = { ...podWith({}, { securityContext: { privileged: true } }), metadata: { name: 's', namespace: 'agents', annotations: { 'mountgate.io/mounts': '[{"hostPath":"/srv/sandbox/a","mountPath":"/w"}]' } } };
    const mutated = decide('mutate', requestFor(pod), POLICY);
    if (!mutated.allowed || mutated.mutated === undefined) throw new Error('the Pod was not mutated');
    const name = expectedVolumeName('/srv/sandbox/a');
    expect(mutated.patch).to.deep.equal([
      { op: 'add', path: '/spec/volumes/1', value: { name, hostPath: { path: '/srv/sandbox/a', type: 'DirectoryOrCreate' } } },
      { op: 'add', path: '/spec/containers/0/volumeMounts/1', value: { name, mountPath: '/w' } },
    ]);
    expect(validate(mutated.mutated)).to.deep.equal([
      `${C}.securityContext.privileged: must not be true: a privileged container can remount read-only host paths read-write and reach every device of the node ${SUFFIX}`,
    ]);
  });

  describe('an UPDATE of pods/ephemeralcontainers judges the whole Pod, as Pod Security Admission does', () => {
    const update = { operation: 'UPDATE', subResource: 'ephemeralcontainers' };
    const withDebugger = (pod: Json, securityContext: Json): Json => ({ ...pod, spec: { ...(pod.spec as Json), ephemeralContainers: [{ name: 'debugger', image: 'x', securityContext }] } });
    const debugged = podWith();

    it('a baseline debugger: admitted', () => {
      expect(validate(withDebugger(debugged, { capabilities: { add: ['KILL'] } }), POLICY, { ...update, oldObject: debugged })).to.equal('allowed');
    });
    it('a privileged debugger: refused', () => {
      expect(validate(withDebugger(debugged, { privileged: true }), POLICY, { ...update, oldObject: debugged })).to.deep.equal([
        `spec.ephemeralContainers[0].securityContext.privileged: must not be true: a privileged container can remount read-only host paths read-write and reach every device of the node ${SUFFIX}`,
      ]);
    });
    it('a baseline debugger in a Pod created with hostPID (before the upgrade, or while mountgate was down): refused', () => {
      const old = podWith({ hostPID: true });
      expect(validate(withDebugger(old, {}), POLICY, { ...update, oldObject: old })).to.deep.equal([`spec.hostPID: must not be true: the Pod would share the node's namespace ${SUFFIX}`]);
    });
  });

  it("allows exactly the sysctls of Kubernetes 1.34's baseline", () => {
    expect([...BASELINE_SYSCTLS]).to.deep.equal([
      'kernel.shm_rmid_forced',
      'net.ipv4.ip_local_port_range',
      'net.ipv4.tcp_syncookies',
      'net.ipv4.ping_group_range',
      'net.ipv4.ip_unprivileged_port_start',
      'net.ipv4.ip_local_reserved_ports',
      'net.ipv4.tcp_keepalive_time',
      'net.ipv4.tcp_fin_timeout',
      'net.ipv4.tcp_keepalive_intvl',
      'net.ipv4.tcp_keepalive_probes',
      'net.ipv4.tcp_rmem',
      'net.ipv4.tcp_wmem',
    ]);
  });

  describe('podSecurity: privileged', () => {
    const off = policyOf({ podSecurity: 'privileged' });
    it('judges host paths only', () => {
      expect(validate(podWith({ hostPID: true }, { securityContext: { privileged: true } }), off)).to.equal('allowed');
      expect(validate(podWith({ hostPID: true, volumes: [{ name: 'skills', hostPath: { path: '/etc', type: 'Directory' } }] }), off)).to.deep.equal([
        'spec.volumes[0].hostPath.path: "/etc" is not under any allowed or built-in host path',
      ]);
    });
  });

  describe('the policy key', () => {
    const accepted: Array<[string, Json, boolean]> = [
      ['absent: baseline', {}, true],
      ['baseline', { podSecurity: 'baseline' }, true],
      ['privileged', { podSecurity: 'privileged' }, false],
    ];
    for (const [name, overrides, baseline] of accepted) {
      it(name, () => expect(policyOf(overrides).baseline).to.equal(baseline));
    }
    const refused: Array<[string, string, readonly string[]]> = [
      ['an unknown level', 'podSecurity: restricted\n', ['podSecurity must be one of baseline, privileged']],
      ['a boolean', 'podSecurity: true\n', ['podSecurity must be a string', 'podSecurity must be one of baseline, privileged']],
    ];
    for (const [name, text, problems] of refused) {
      it(name, () => expect(problemsOf(text)).to.deep.equal(problems));
    }
  });
});
