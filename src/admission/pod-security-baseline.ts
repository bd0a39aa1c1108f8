/**
 * Pod Security "baseline", every control but hostPath volumes, for Pods that
 * carry hostPath volumes (policy key podSecurity: baseline). A namespace that
 * takes host mounts must run Pod Security Admission at "privileged", since
 * baseline forbids hostPath volumes outright; that also lets through what
 * undoes the host-path rules from inside such a Pod: a privileged container or
 * CAP_SYS_ADMIN remounts a read-only bind mount read-write or mounts the
 * node's disk, hostPID reaches the node's files through /proc/PID/root.
 * mountgate judges the hostPath volumes itself and puts the rest of baseline
 * back for the Pods that have them. A Pod without any is Pod Security's
 * business alone.
 *
 * The controls are those of Kubernetes 1.34's baseline (k8s.io/pod-security-admission),
 * field for field, which a test holds to a real API server's Pod Security
 * Admission. Later releases relax two things, which are not taken: more
 * sysctls, and a non-default /proc mount in a Pod with its own user namespace.
 * As Pod Security Admission does, the whole Pod is judged on an update of
 * pods/ephemeralcontainers too.
 *
 * A value the API server would never send (a string for a boolean) breaks the
 * control it belongs to: only the values the control allows pass.
 */
import { isRecord } from '../policy/json-object.js';
import { CONTAINER_LISTS, hasHostPathVolume, type CheckedPod } from './pod.js';
import { NamedThenCounted, violation, type Violation } from './violation.js';

/** The capabilities baseline lets a container add. */
export const BASELINE_CAPABILITIES: ReadonlySet<string> = new Set([
  'AUDIT_WRITE',
  'CHOWN',
  'DAC_OVERRIDE',
  'FOWNER',
  'FSETID',
  'KILL',
  'MKNOD',
  'NET_BIND_SERVICE',
  'SETFCAP',
  'SETGID',
  'SETPCAP',
  'SETUID',
  'SYS_CHROOT',
]);

/** The sysctls baseline lets a Pod set (the "safe" set of Kubernetes 1.32 to 1.36). */
export const BASELINE_SYSCTLS: ReadonlySet<string> = new Set([
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

export const SELINUX_TYPES: ReadonlySet<string> = new Set(['', 'container_t', 'container_init_t', 'container_kvm_t', 'container_engine_t']);
export const PROFILE_TYPES: ReadonlySet<string> = new Set(['RuntimeDefault', 'Localhost']);
export const APPARMOR_ANNOTATION_PREFIX = 'container.apparmor.security.beta.kubernetes.io/';
const HOST_NAMESPACES = ['hostNetwork', 'hostPID', 'hostIPC'] as const;
export const PROBE_KEYS = ['livenessProbe', 'readinessProbe', 'startupProbe'] as const;
export const LIFECYCLE_KEYS = ['postStart', 'preStop'] as const;
/** The actions of a probe or handler that can name a host. */
export const PROBE_ACTIONS = ['httpGet', 'tcpSocket'] as const;
/** Each probe and lifecycle handler with its field path below a container. */
const PROBES = PROBE_KEYS.map((key) => [key, `.${key}`] as const);
const LIFECYCLE_HANDLERS = LIFECYCLE_KEYS.map((key) => [key, `.lifecycle.${key}`] as const);

const SUFFIX = '(podSecurity: baseline)';

type JsonObject = Readonly<Record<string, unknown>>;

/** A field's object, or undefined when it is absent or null; anything else is `false`, which no control allows. */
function objectAt(parent: JsonObject, key: string): JsonObject | undefined | false {
  const value = parent[key];
  if (value === undefined || value === null) return undefined;
  return isRecord(value) ? value : false;
}

function listAt(parent: JsonObject, key: string): readonly unknown[] | undefined | false {
  const value = parent[key];
  if (value === undefined || value === null) return undefined;
  return Array.isArray(value) ? value : false;
}

/** A switch baseline keeps off: absent, null or false. */
function isOn(value: unknown): boolean {
  return value !== undefined && value !== null && value !== false;
}

/** Absent, null or the empty string. */
function isUnset(value: unknown): boolean {
  return value === undefined || value === null || value === '';
}

/** A value as JSON writes it (strings in quotes). */
function quoted(value: unknown): string {
  return JSON.stringify(value) ?? String(value);
}

/**
 * Every baseline control the Pod breaks, hostPath volumes aside, when it has
 * any hostPath volume: the Pod's own fields first, then each container (init
 * and ephemeral included) in spec order, each control in the order of the
 * reference's table.
 */
export function baselineViolations(pod: CheckedPod): Violation[] {
  const violations: Violation[] = [];
  const spec: unknown = pod.spec;
  if (!isRecord(spec) || !hasHostPathVolume(pod)) return violations;
  const named = new NamedThenCounted(violations);
  const breaks = (field: string, message: string): void => named.add(() => violation('pod-security-baseline', field, `${message} ${SUFFIX}`));

  for (const key of HOST_NAMESPACES) {
    if (isOn(spec[key])) breaks(`spec.${key}`, "must not be true: the Pod would share the node's namespace");
  }
  const podContext = objectAt(spec, 'securityContext');
  if (podContext === false) breaks('spec.securityContext', 'must be an object');
  else if (podContext !== undefined) {
    checkContext(podContext, POD_CONTEXT, breaks);
    checkSysctls(podContext, breaks);
  }
  checkAppArmorAnnotations(pod, breaks);
  for (const list of CONTAINER_LISTS) {
    const containers: readonly unknown[] = pod.spec[list] ?? [];
    for (let index = 0; index < containers.length; index++) {
      const container = containers[index];
      // The container's field path is written only when something breaks.
      if (isRecord(container)) checkContainer(container, () => `spec.${list}[${index}]`, breaks);
    }
  }
  named.close((count) => violation('pod-security-baseline', 'spec', `${count} more fields break Pod Security baseline ${SUFFIX}`));
  return violations;
}

type Breaks = (field: string, message: string) => void;
/** A field path, written out when a violation needs it. */
type Field = () => string;
const POD_CONTEXT: Field = () => 'spec.securityContext';

/** The fields a Pod's and a container's securityContext share: Windows host process, SELinux, seccomp, AppArmor. */
function checkContext(context: JsonObject, field: Field, breaks: Breaks): void {
  const windows = objectAt(context, 'windowsOptions');
  if (windows === false) breaks(`${field()}.windowsOptions`, 'must be an object');
  else if (windows !== undefined && isOn(windows.hostProcess)) breaks(`${field()}.windowsOptions.hostProcess`, 'must not be true: a Windows host process runs as the node');

  const seLinux = objectAt(context, 'seLinuxOptions');
  if (seLinux === false) breaks(`${field()}.seLinuxOptions`, 'must be an object');
  else if (seLinux !== undefined) {
    const type = seLinux.type ?? '';
    if (typeof type !== 'string' || !SELINUX_TYPES.has(type)) {
      breaks(`${field()}.seLinuxOptions.type`, `${quoted(type)} is not one of ${[...SELINUX_TYPES].filter((allowed) => allowed !== '').join(', ')}`);
    }
    if (!isUnset(seLinux.user)) breaks(`${field()}.seLinuxOptions.user`, 'must not be set');
    if (!isUnset(seLinux.role)) breaks(`${field()}.seLinuxOptions.role`, 'must not be set');
  }

  checkProfile(context, 'seccompProfile', field, breaks);
  checkProfile(context, 'appArmorProfile', field, breaks);
}

function checkProfile(context: JsonObject, key: 'seccompProfile' | 'appArmorProfile', field: Field, breaks: Breaks): void {
  const profile = objectAt(context, key);
  if (profile === false) breaks(`${field()}.${key}`, 'must be an object');
  else if (profile !== undefined) {
    const type = profile.type;
    if (typeof type !== 'string' || !PROFILE_TYPES.has(type)) breaks(`${field()}.${key}.type`, `${quoted(type ?? '')} is not RuntimeDefault or Localhost`);
  }
}

function checkSysctls(context: JsonObject, breaks: Breaks): void {
  const sysctls = listAt(context, 'sysctls');
  if (sysctls === false) {
    breaks('spec.securityContext.sysctls', 'must be a list');
    return;
  }
  const list = sysctls ?? [];
  for (let index = 0; index < list.length; index++) {
    const sysctl = list[index];
    const name = isRecord(sysctl) ? sysctl.name : undefined;
    if (typeof name !== 'string' || !BASELINE_SYSCTLS.has(name)) {
      breaks(`spec.securityContext.sysctls[${index}].name`, `${quoted(name ?? '')} is not one of the sysctls baseline allows`);
    }
  }
}

/**
 * The AppArmor annotations (deprecated, still honoured): any container's, named or not, by key in sorted
 * order, as the API server writes them (the backstop names the first).
 */
function checkAppArmorAnnotations(pod: CheckedPod, breaks: Breaks): void {
  const annotations = pod.metadata?.annotations;
  if (annotations === undefined || annotations === null) return;
  const broken: string[] = [];
  for (const key in annotations) {
    if (!Object.hasOwn(annotations, key) || !key.startsWith(APPARMOR_ANNOTATION_PREFIX)) continue;
    const value = annotations[key] ?? '';
    if (value !== '' && value !== 'runtime/default' && !value.startsWith('localhost/')) broken.push(key);
  }
  for (const key of broken.sort()) breaks(`metadata.annotations[${key}]`, `${quoted(annotations[key])} is not runtime/default or localhost/...`);
}

function checkContainer(container: JsonObject, field: Field, breaks: Breaks): void {
  const context = objectAt(container, 'securityContext');
  if (context === false) breaks(`${field()}.securityContext`, 'must be an object');
  else if (context !== undefined) {
    const contextField: Field = () => `${field()}.securityContext`;
    if (isOn(context.privileged)) breaks(`${contextField()}.privileged`, 'must not be true: a privileged container can remount read-only host paths read-write and reach every device of the node');
    checkCapabilities(context, contextField, breaks);
    checkContext(context, contextField, breaks);
    const procMount = context.procMount;
    if (procMount !== undefined && procMount !== null && procMount !== 'Default') breaks(`${contextField()}.procMount`, `${quoted(procMount)} is not Default`);
  }
  checkHostPorts(container, field, breaks);
  checkProbeHosts(container, field, breaks);
}

function checkCapabilities(context: JsonObject, field: Field, breaks: Breaks): void {
  const capabilities = objectAt(context, 'capabilities');
  if (capabilities === false) {
    breaks(`${field()}.capabilities`, 'must be an object');
    return;
  }
  const added = capabilities === undefined ? undefined : listAt(capabilities, 'add');
  if (added === false) {
    breaks(`${field()}.capabilities.add`, 'must be a list');
    return;
  }
  const list = added ?? [];
  for (let index = 0; index < list.length; index++) {
    const capability = list[index];
    if (typeof capability !== 'string' || !BASELINE_CAPABILITIES.has(capability)) {
      breaks(`${field()}.capabilities.add[${index}]`, `${quoted(capability)} is not one of the capabilities baseline allows (${[...BASELINE_CAPABILITIES].join(', ')})`);
    }
  }
}

function checkHostPorts(container: JsonObject, field: Field, breaks: Breaks): void {
  const ports = listAt(container, 'ports');
  if (ports === false) {
    breaks(`${field()}.ports`, 'must be a list');
    return;
  }
  const list = ports ?? [];
  for (let index = 0; index < list.length; index++) {
    const port = list[index];
    const hostPort = isRecord(port) ? port.hostPort : undefined;
    if (hostPort !== undefined && hostPort !== null && hostPort !== 0) breaks(`${field()}.ports[${index}].hostPort`, `${quoted(hostPort)} must not be set: the port would open on the node`);
  }
}

/** Probes and lifecycle handlers that name a host: the kubelet, on the node's network, would call it. */
function checkProbeHosts(container: JsonObject, field: Field, breaks: Breaks): void {
  for (const [key, suffix] of PROBES) checkHandlerHost(container[key], field, suffix, breaks);
  const lifecycle = container.lifecycle;
  if (isRecord(lifecycle)) {
    for (const [key, suffix] of LIFECYCLE_HANDLERS) checkHandlerHost(lifecycle[key], field, suffix, breaks);
  }
}

function checkHandlerHost(handler: unknown, field: Field, suffix: string, breaks: Breaks): void {
  if (!isRecord(handler)) return;
  for (const action of PROBE_ACTIONS) {
    const target = handler[action];
    if (isRecord(target) && !isUnset(target.host)) breaks(`${field()}${suffix}.${action}.host`, `${quoted(target.host)} must not be set: the kubelet would call it from the node`);
  }
}
