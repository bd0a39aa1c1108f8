/**
 * values.schema.json refuses wrong types, unknown keys and policies that mountgate itself would
 * refuse; a few rules the schema cannot express fail in the templates with a clear message.
 */
import { expect } from 'chai';
import { readFileSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { testCa } from './fixtures.js';
import { ACCEPTED_EDGE_VALUES, API_SERVER_REFUSES, schemaPattern } from './api-server-values.js';
import { VALUES_DIR, failureText, template, type RunResult } from './helm.js';

interface BadRow {
  readonly file: string;
  /**
   * Whole lines of the error, as helm prints them without their indentation and "- ": the JSON
   * pointer of the offending value and the rule that refused it. A value is often refused by more
   * than one rule; the line of the rule under test must be among them.
   */
  readonly says: readonly string[];
}

const BAD_DIR = path.join(VALUES_DIR, 'bad');

/** The lines of helm's schema error without their indentation (the nesting of allOf and oneOf) and "- ". */
function errorLines(res: RunResult): string[] {
  return failureText(res)
    .split('\n')
    .map((line) => line.trim().replace(/^- /, ''))
    .filter((line) => line !== '');
}

/** helm refused the values through the schema, with each of these whole lines among the error's. */
function expectRefused(res: RunResult, says: readonly string[]): void {
  expect(res.status, 'helm template must fail').to.not.equal(0);
  const lines = errorLines(res);
  expect(lines).to.include("Error: values don't meet the specifications of the schema(s) in the following chart(s):");
  for (const line of says) expect(lines, failureText(res)).to.include(line);
}

const SEGMENTS = schemaPattern.segments;
const PLACEHOLDERS = schemaPattern.placeholders;
const FIRST_SEGMENT = schemaPattern.firstSegment;

const badRows: BadRow[] = [
  { file: 'wrong-type-replicas.yaml', says: ["at '/replicaCount': got string, want integer"] },
  { file: 'unknown-top-key.yaml', says: ["at '': additional properties 'replicas' not allowed"] },
  { file: 'unknown-webhook-key.yaml', says: ["at '/webhook': additional properties 'failurPolicy' not allowed"] },
  { file: 'policy-unknown-key.yaml', says: ["at '/policy': additional properties 'allowedHostpaths' not allowed"] },
  { file: 'policy-hostpathtype.yaml', says: ["at '/policy/hostPathType': value must be one of 'auto', 'Directory', 'DirectoryOrCreate'"] },
  { file: 'policy-relative-prefix.yaml', says: ["at '/policy/allowedHostPaths/0/pathPrefix': 'srv/sandbox' does not match pattern '^/'"] },
  // '/' also fails the first-segment and segment patterns: the line of its own rule (not "/") must be there.
  { file: 'policy-root-prefix.yaml', says: ["at '/policy/allowedHostPaths/0/pathPrefix': 'not' failed"] },
  { file: 'policy-dotdot-prefix.yaml', says: ["at '/policy/builtinHostPaths/0/pathPrefix': 'not' failed"] },
  { file: 'policy-negative-maxmounts.yaml', says: ["at '/policy/maxMounts': minimum: got -1, want 0"] },
  { file: 'policy-readonly-string.yaml', says: ["at '/policy/allowedHostPaths/0/readOnly': got string, want boolean"] },
  { file: 'policy-entry-unknown-key.yaml', says: ["at '/policy/allowedHostPaths/0': additional properties 'readonly' not allowed"] },
  { file: 'policy-reserved-relative.yaml', says: ["at '/policy/reservedMountPaths/0': 'mnt/skills' does not match pattern '^/'"] },
  { file: 'policy-containers-not-list.yaml', says: ["at '/policy/containers': got string, want array"] },
  { file: 'cert-mode.yaml', says: ["at '/certs/mode': value must be one of 'helm', 'certManager', 'secret'"] },
  { file: 'failure-policy.yaml', says: ["at '/webhook/failurePolicy': value must be one of 'Fail', 'Ignore'"] },
  { file: 'timeout.yaml', says: ["at '/webhook/timeoutSeconds': maximum: got 31, want 30"] },
  { file: 'url-http.yaml', says: [`at '/webhook/url': 'http://127.0.0.1:8443' does not match pattern '${schemaPattern.webhookUrl}'`] },
  { file: 'security-context-unknown.yaml', says: ["at '/securityContext': additional properties 'runAsNonroot' not allowed"] },
  { file: 'namespace-selector-unknown.yaml', says: ["at '/webhook/namespaceSelector': additional properties 'matchLabel' not allowed"] },
  { file: 'match-conditions-string.yaml', says: ["at '/webhook/mutating/matchConditions': got string, want boolean"] },
  { file: 'mountpolicies-enabled-string.yaml', says: ["at '/mountPolicies/enabled': got string, want boolean"] },
  { file: 'mountpolicies-unknown-key.yaml', says: ["at '/mountPolicies': additional properties 'enable' not allowed"] },
];

describe('values.schema.json', function () {
  it('every bad values file has a row (and every row a file)', function () {
    const files = readdirSync(BAD_DIR).filter((f) => f.endsWith('.yaml')).sort();
    expect(badRows.map((r) => r.file).sort()).to.deep.equal(files);
  });

  for (const row of badRows) {
    it(`refuses ${row.file}`, function () {
      expectRefused(template({ files: [path.join(BAD_DIR, row.file)] }), row.says);
    });
  }

  const longPrefix = `${'a'.repeat(250)}.com`;
  // Inline rows: policy values that mountgate refuses at load time must not get past helm.
  const inlineRows: { name: string; values: Record<string, unknown>; says: readonly string[] }[] = [
    // Also refused by the segment pattern (an empty segment is no literal): the "//" rule's own line must be there.
    { name: 'a pathPrefix with an empty segment', values: { policy: { allowedHostPaths: [{ pathPrefix: '/srv//a' }] } }, says: ["at '/policy/allowedHostPaths/0/pathPrefix': 'not' failed"] },
    // A reserved path has no segment pattern: the "//" rule alone refuses it.
    { name: 'a reservedMountPaths entry with an empty segment', values: { policy: { reservedMountPaths: ['/mnt//skills'] } }, says: ["at '/policy/reservedMountPaths/0': 'not' failed"] },
    { name: 'a pathPrefix with a "." segment', values: { policy: { allowedHostPaths: [{ pathPrefix: '/srv/./a' }] } }, says: ["at '/policy/allowedHostPaths/0/pathPrefix': 'not' failed"] },
    { name: 'a pathPrefix with a backslash', values: { policy: { allowedHostPaths: [{ pathPrefix: '/srv/a\\b' }] } }, says: ["at '/policy/allowedHostPaths/0/pathPrefix': 'not' failed"] },
    { name: 'a reservedMountPaths entry with a backslash', values: { policy: { reservedMountPaths: ['/mnt\\x'] } }, says: ["at '/policy/reservedMountPaths/0': 'not' failed"] },
    { name: 'a pathPrefix with a control character', values: { policy: { allowedHostPaths: [{ pathPrefix: '/srv/a\u0007' }] } }, says: ["at '/policy/allowedHostPaths/0/pathPrefix': 'not' failed"] },
    { name: 'a pathPrefix over 4096 characters', values: { policy: { allowedHostPaths: [{ pathPrefix: `/${'a'.repeat(4096)}` }] } }, says: ["at '/policy/allowedHostPaths/0/pathPrefix': maxLength: got 4,097, want 4,096"] },
    // The pattern rules of src/policy/patterns.ts (patternProblem) and schema.ts (reserved paths take none).
    { name: 'an unknown placeholder', values: { policy: { allowedHostPaths: [{ pathPrefix: '/srv/{bogus}' }] } }, says: [`at '/policy/allowedHostPaths/0/pathPrefix': '/srv/{bogus}' does not match pattern '${PLACEHOLDERS}'`] },
    { name: 'an empty placeholder', values: { policy: { allowedHostPaths: [{ pathPrefix: '/srv/{}' }] } }, says: [`at '/policy/allowedHostPaths/0/pathPrefix': '/srv/{}' does not match pattern '${PLACEHOLDERS}'`] },
    { name: 'a segment mixing text and "*"', values: { policy: { allowedHostPaths: [{ pathPrefix: '/srv/data*' }] } }, says: [`at '/policy/allowedHostPaths/0/pathPrefix': '/srv/data*' does not match pattern '${SEGMENTS}'`] },
    // Also refused by the placeholder pattern ("{user}-data" is no placeholder): the segment rule's own line must be there.
    { name: 'a segment mixing text and a placeholder', values: { policy: { allowedHostPaths: [{ pathPrefix: '/srv/{user}-data' }] } }, says: [`at '/policy/allowedHostPaths/0/pathPrefix': '/srv/{user}-data' does not match pattern '${SEGMENTS}'`] },
    { name: 'a "*" first segment', values: { policy: { builtinHostPaths: [{ pathPrefix: '/*/x' }] } }, says: [`at '/policy/builtinHostPaths/0/pathPrefix': '/*/x' does not match pattern '${FIRST_SEGMENT}'`] },
    { name: 'a placeholder first segment', values: { policy: { allowedHostPaths: [{ pathPrefix: '/{namespace}/data' }] } }, says: [`at '/policy/allowedHostPaths/0/pathPrefix': '/{namespace}/data' does not match pattern '${FIRST_SEGMENT}'`] },
    { name: 'a reservedMountPaths pattern', values: { policy: { reservedMountPaths: ['/mnt/*'] } }, says: ["at '/policy/reservedMountPaths/0': 'not' failed"] },
    { name: 'a reservedMountPaths placeholder', values: { policy: { reservedMountPaths: ['/home/{user}'] } }, says: ["at '/policy/reservedMountPaths/0': 'not' failed"] },
    { name: 'a builtinHostPaths entry without pathPrefix', values: { policy: { builtinHostPaths: [{ readOnly: true }] } }, says: ["at '/policy/builtinHostPaths/0': missing property 'pathPrefix'"] },
    { name: 'maxMounts as a string', values: { policy: { maxMounts: '10' } }, says: ["at '/policy/maxMounts': got string, want integer"] },
    { name: 'an annotation key with spaces', values: { policy: { annotation: 'mount gate' } }, says: [`at '/policy/annotation': 'mount gate' does not match pattern '${schemaPattern.labelKey}'`] },
    // A 254-character prefix: mountgate (and the API server) refuse it, so mountgate would exit 2 at start.
    { name: 'an annotation key whose prefix is over 253 characters', values: { policy: { annotation: `${longPrefix}/mounts` } }, says: [`at '/policy/annotation': '${longPrefix}/mounts' does not match pattern '${schemaPattern.keyPrefix}'`] },
    { name: 'a sandbox-user annotation key whose prefix is over 253 characters', values: { policy: { sandboxUserAnnotation: `${longPrefix}/user` } }, says: [`at '/policy/sandboxUserAnnotation': '${longPrefix}/user' does not match pattern '${schemaPattern.keyPrefix}'`] },
    { name: 'requesters as a string', values: { policy: { requesters: 'group:a' } }, says: ["at '/policy/requesters': got string, want array"] },
    { name: 'an unknown handWrittenHostPaths', values: { policy: { handWrittenHostPaths: 'annotation' } }, says: ["at '/policy/handWrittenHostPaths': value must be one of 'allowed', 'builtin'"] },
    { name: 'an unknown podSecurity', values: { policy: { podSecurity: 'restricted' } }, says: ["at '/policy/podSecurity': value must be one of 'baseline', 'privileged'"] },
    { name: 'an unknown volumeRoot', values: { policy: { volumeRoot: 'ancestor' } }, says: ["at '/policy/volumeRoot': value must be one of 'requested', 'writableAncestor'"] },
    { name: 'an unknown key in the helm cert options', values: { certs: { helm: { days: 3 } } }, says: ["at '/certs/helm': additional properties 'days' not allowed"] },
    { name: 'an unknown podAntiAffinity', values: { podAntiAffinity: 'maybe' }, says: ["at '/podAntiAffinity': value must be one of 'soft', 'hard', 'none'"] },
    { name: 'replicaCount 0', values: { replicaCount: 0 }, says: ["at '/replicaCount': minimum: got 0, want 1"] },
    // A hook, which the chart-cluster rows do not create; the same rule as resources.
    { name: 'a negative cpu request of the cleanup Job', values: { cleanup: { resources: { requests: { cpu: '-10m' } } } }, says: [`at '/cleanup/resources/requests/cpu': '-10m' does not match pattern '${schemaPattern.quantity}'`] },
    { name: 'a memory request that is no quantity (two points)', values: { resources: { requests: { memory: '1.2.3Mi' } } }, says: [`at '/resources/requests/memory': '1.2.3Mi' does not match pattern '${schemaPattern.quantity}'`] },
    { name: 'a memory request with a suffix that is no quantity suffix (ki)', values: { resources: { requests: { memory: '512ki' } } }, says: [`at '/resources/requests/memory': '512ki' does not match pattern '${schemaPattern.quantity}'`] },
    { name: 'server.maxConnections 0', values: { server: { maxConnections: 0 } }, says: ["at '/server/maxConnections': minimum: got 0, want 1"] },
    { name: 'server.maxConnections as a string', values: { server: { maxConnections: '1024' } }, says: ["at '/server/maxConnections': got string, want integer"] },
    { name: 'a namespace to exclude that is no DNS label', values: { webhook: { excludeNamespaces: ['Kube_System'] } }, says: [`at '/webhook/excludeNamespaces/0': 'Kube_System' does not match pattern '${schemaPattern.dnsLabel}'`] },
    { name: 'mountPolicies as a bare boolean', values: { mountPolicies: true }, says: ["at '/mountPolicies': got boolean, want object"] },
    { name: 'mountPolicies.installCRD as a string', values: { mountPolicies: { enabled: true, installCRD: 'sometimes' } }, says: ["at '/mountPolicies/installCRD': got string, want boolean"] },
    // Values the API server would refuse part-way through an install (the chart-cluster suite shows it does): refused before anything is applied.
    ...API_SERVER_REFUSES.map((row) => ({ name: row.name, values: row.values, says: row.schemaSays })),
    { name: 'an apiServerCIDRs entry with a leading zero (octal to some readers; not canonical)', values: { networkPolicy: { enabled: true, apiServerCIDRs: ['10.0.0.01/32'] } }, says: [`at '/networkPolicy/apiServerCIDRs/0': '10.0.0.01/32' does not match pattern '${schemaPattern.cidr}'`] },
    { name: 'a ServiceMonitor label value with a space', values: { serviceMonitor: { labels: { release: 'kube prometheus' } } }, says: [`at '/serviceMonitor/labels/release': 'kube prometheus' does not match pattern '${schemaPattern.labelValue}'`] },
    { name: 'a pod label the chart sets itself (it selects the Pods)', values: { podLabels: { 'app.kubernetes.io/instance': 'other' } }, says: ["at '/podLabels': 'allOf' failed", "at '': invalid propertyName 'app.kubernetes.io/instance'", "at '': 'not' failed"] },
    { name: 'a pod label the chart sets itself (its component)', values: { podLabels: { 'app.kubernetes.io/component': 'other' } }, says: ["at '/podLabels': 'allOf' failed", "at '': invalid propertyName 'app.kubernetes.io/component'", "at '': 'not' failed"] },
    { name: 'a common label the chart sets itself', values: { commonLabels: { 'app.kubernetes.io/name': 'other' } }, says: ["at '/commonLabels': 'allOf' failed", "at '': invalid propertyName 'app.kubernetes.io/name'", "at '': 'not' failed"] },
  ];
  for (const row of inlineRows) {
    it(`refuses ${row.name}`, function () {
      expectRefused(template({ values: row.values }), row.says);
    });
  }

  it('accepts the pathPrefix forms mountgate accepts (trailing slash, dot-leading names, "*" and every placeholder after a literal first segment)', function () {
    const res = template({
      values: {
        policy: {
          allowedHostPaths: [{ pathPrefix: '/srv/sandbox/' }, { pathPrefix: '/srv/.cache' }, { pathPrefix: '/srv/...' }, { pathPrefix: '/srv/{namespace}/*/{user}/{sandboxUser}/' }, { pathPrefix: '/home/*' }],
          builtinHostPaths: [{ pathPrefix: '/.deer-flow/threads', readOnly: false }],
          reservedMountPaths: ['/mnt/skills'],
          maxMounts: 0,
          hostPathType: 'DirectoryOrCreate',
          containers: ['sandbox'],
          requesters: ['alice', 'group:provisioners'],
          handWrittenHostPaths: 'builtin',
          podSecurity: 'privileged',
          volumeRoot: 'writableAncestor',
        },
      },
    });
    expect(res.status, failureText(res)).to.equal(0);
  });

  it('accepts annotation keys of 317 characters, a 253-character prefix and a 63-character name, as mountgate and the API server do', function () {
    const prefix = `${'a'.repeat(249)}.com`;
    const res = template({ values: { policy: { annotation: `${prefix}/${'m'.repeat(63)}`, sandboxUserAnnotation: `${prefix}/${'u'.repeat(63)}` } } });
    expect(res.status, failureText(res)).to.equal(0);
  });

  it('accepts annotation keys whose prefix is exactly 253 characters, as mountgate does', function () {
    const prefix = `${'a'.repeat(249)}.com`;
    const res = template({ values: { policy: { annotation: `${prefix}/mounts`, sandboxUserAnnotation: `${prefix}/user` } } });
    expect(res.status, failureText(res)).to.equal(0);
  });

  it('accepts the names, disruption budgets, CIDRs, labels and selectors the API server accepts', function () {
    const values = { ...ACCEPTED_EDGE_VALUES, serviceMonitor: { enabled: true, labels: { release: 'kube-prometheus', 'example.com/team': 'a' } } };
    const res = template({ values });
    expect(res.status, failureText(res)).to.equal(0);
    expect(template({ values: { podDisruptionBudget: { enabled: true, maxUnavailable: 0 } } }).status).to.equal(0);
    expect(template({ values: { podDisruptionBudget: { enabled: true, maxUnavailable: null, minAvailable: '100%' } } }).status).to.equal(0);
  });
});

describe('template checks the schema cannot express', function () {
  const rows: { name: string; values: Record<string, unknown>; expect: string }[] = [
    {
      name: 'secret mode without a caBundle',
      values: { certs: { mode: 'secret', secret: { name: 'tls' } } },
      expect: 'certs.secret.caBundle is required when certs.mode is secret',
    },
    {
      name: 'secret mode without a Secret name',
      values: { certs: { mode: 'secret', secret: { caBundle: 'TFMwdExTMUNSVWQ=' } } },
      expect: 'certs.secret.name is required when certs.mode is secret',
    },
    {
      name: 'a grace period that does not outlast the shutdown delay',
      values: { terminationGracePeriodSeconds: 5, server: { shutdownDelay: 5 } },
      expect: 'terminationGracePeriodSeconds (5) must be greater than server.shutdownDelay (5)',
    },
    {
      name: 'a cert-manager issuerRef without a name',
      values: { certs: { mode: 'certManager', certManager: { issuerRef: { kind: 'ClusterIssuer' } } } },
      expect: 'certs.certManager.issuerRef.name is required',
    },
    {
      name: 'a label in both podLabels and commonLabels (the Pod template would hold it twice)',
      values: { podLabels: { team: 'a' }, commonLabels: { team: 'b' } },
      expect: 'podLabels and commonLabels both set team: the Pod template carries both, and a key may appear only once',
    },
    {
      name: 'a sandbox-user annotation key equal to the mounts annotation key',
      values: { policy: { annotation: 'example.com/m', sandboxUserAnnotation: 'example.com/m' } },
      expect: 'policy.sandboxUserAnnotation must differ from policy.annotation (both are example.com/m)',
    },
    {
      name: 'a mounts annotation key equal to the default sandbox-user key',
      values: { policy: { annotation: 'mountgate.io/sandbox-user' } },
      expect: 'policy.sandboxUserAnnotation must differ from policy.annotation (both are mountgate.io/sandbox-user)',
    },
    {
      name: 'a secret-mode caBundle that is no PEM and no base64 of one',
      values: { certs: { mode: 'secret', secret: { name: 'tls', caBundle: 'not a certificate' } } },
      expect: 'certs.secret.caBundle holds no CA certificate: give the PEM of the CA that signed the Secret\'s tls.crt (-----BEGIN CERTIFICATE-----), or base64 of that PEM',
    },
    {
      name: 'a secret-mode caBundle that holds a private key (tls.key given for ca.crt)',
      values: { certs: { mode: 'secret', secret: { name: 'tls', caBundle: `${testCa().caPem}${readFileSync(testCa().keyFile, 'utf8')}` } } },
      expect: 'certs.secret.caBundle holds a private key: the webhook configurations and the helm test Pod would publish it; give the CA certificate alone',
    },
    {
      name: 'a secret-mode caBundle given as base64 of a private key',
      values: { certs: { mode: 'secret', secret: { name: 'tls', caBundle: readFileSync(testCa().keyFile).toString('base64') } } },
      expect: 'certs.secret.caBundle holds a private key',
    },
    {
      name: 'a helm-mode serving certificate that could outlive its CA (caValidityDays 365, certValidityDays 825)',
      values: { certs: { helm: { caValidityDays: 365 } } },
      expect: 'certs.helm.certValidityDays (825) must be at most a third of certs.helm.caValidityDays (365 / 3 = 121)',
    },
    // cert-manager's webhook refuses these Certificates (ValidateDuration), part-way through an install.
    {
      name: 'a cert-manager renewBefore equal to the duration',
      values: { certs: { mode: 'certManager', certManager: { duration: '720h', renewBefore: '720h' } } },
      expect: 'certs.certManager.renewBefore (720h) must be shorter than certs.certManager.duration (720h)',
    },
    {
      name: 'a cert-manager renewBefore longer than the duration, in other units',
      values: { certs: { mode: 'certManager', certManager: { duration: '2h', renewBefore: '150m' } } },
      expect: 'certs.certManager.renewBefore (150m) must be shorter than certs.certManager.duration (2h)',
    },
    {
      name: 'a cert-manager duration under an hour',
      values: { certs: { mode: 'certManager', certManager: { duration: '59m59s', renewBefore: '10m' } } },
      expect: 'certs.certManager.duration (59m59s) must be at least 1h',
    },
    {
      name: 'a cert-manager renewBefore under five minutes',
      values: { certs: { mode: 'certManager', certManager: { renewBefore: '299s' } } },
      expect: 'certs.certManager.renewBefore (299s) must be at least 5m',
    },
    {
      name: 'a cert-manager caDuration under an hour (the chart-made CA)',
      values: { certs: { mode: 'certManager', certManager: { caDuration: '0.5h' } } },
      expect: 'certs.certManager.caDuration (0.5h) must be at least 1h',
    },
    // The Prometheus Operator skips such a ServiceMonitor, and the certificate-expiry metric is never scraped.
    {
      name: 'a ServiceMonitor scrapeTimeout longer than its interval',
      values: { serviceMonitor: { enabled: true, interval: '30s', scrapeTimeout: '1m' } },
      expect: 'serviceMonitor.scrapeTimeout (1m) must not be longer than serviceMonitor.interval (30s)',
    },
    // The NetworkPolicy would admit no scraper to the metrics port, so nothing would be scraped, and nothing would say so.
    {
      name: 'a ServiceMonitor while the NetworkPolicy closes the metrics port',
      values: { serviceMonitor: { enabled: true }, networkPolicy: { enabled: true, metrics: { enabled: false } } },
      expect:
        'serviceMonitor.enabled asks Prometheus to scrape the metrics port, which networkPolicy.metrics.enabled=false closes to every source: set networkPolicy.metrics.enabled=true (and networkPolicy.metrics.from to admit Prometheus), or serviceMonitor.enabled=false',
    },
    {
      name: 'the webhook port equal to the metrics port',
      values: { server: { port: 9090 } },
      expect: 'server.port and server.metricsPort must differ (both are 9090)',
    },
    {
      name: 'the Service port equal to the metrics port',
      values: { service: { port: 9090 } },
      expect: 'service.port and server.metricsPort must differ (both are 9090)',
    },
  ];
  it('accepts a serving certificate of a third of the CA validity, and any in the other modes', function () {
    for (const values of [
      { certs: { helm: { caValidityDays: 365, certValidityDays: 121 } } },
      { certs: { mode: 'certManager', helm: { caValidityDays: 365 } } },
    ]) {
      const res = template({ values });
      expect(res.status, failureText(res)).to.equal(0);
    }
  });

  it('accepts cert-manager durations at their bounds: 1h, renewBefore 5m, just under the duration', function () {
    for (const certManager of [
      { duration: '1h', renewBefore: '59m59.5s', caDuration: '60m' },
      { duration: '1h0m0.001s', renewBefore: '300s' },
      { duration: '2160h', renewBefore: '2159h59m' },
      { duration: '1.5h', renewBefore: '89m', caDuration: '3600000ms' },
    ]) {
      const res = template({ values: { certs: { mode: 'certManager', certManager } } });
      expect(res.status, `${JSON.stringify(certManager)}: ${failureText(res)}`).to.equal(0);
    }
  });

  it('accepts a ServiceMonitor scrapeTimeout up to its interval, and any while the ServiceMonitor is off', function () {
    for (const serviceMonitor of [
      { enabled: true, interval: '30s', scrapeTimeout: '30s' },
      { enabled: true, interval: '1m', scrapeTimeout: '59500ms' },
      { enabled: false, interval: '10s', scrapeTimeout: '1m' },
    ]) {
      const res = template({ values: { serviceMonitor } });
      expect(res.status, `${JSON.stringify(serviceMonitor)}: ${failureText(res)}`).to.equal(0);
    }
  });

  it('accepts a ServiceMonitor with the NetworkPolicy open to scrapes or off, and the metrics port closed while no ServiceMonitor asks', function () {
    for (const values of [
      { serviceMonitor: { enabled: true }, networkPolicy: { enabled: true, metrics: { enabled: true } } },
      { serviceMonitor: { enabled: true }, networkPolicy: { enabled: false, metrics: { enabled: false } } },
      { serviceMonitor: { enabled: false }, networkPolicy: { enabled: true, metrics: { enabled: false } } },
    ]) {
      const res = template({ values });
      expect(res.status, `${JSON.stringify(values)}: ${failureText(res)}`).to.equal(0);
    }
  });

  it('fails without an image, saying how to get one (none is published)', function () {
    const res = template({ withoutImage: true });
    expect(res.status, 'helm template must fail').to.not.equal(0);
    expect(failureText(res)).to.include(
      "image.repository is required: build the image from the repository's Dockerfile, push it to a registry the cluster can pull from, and set image.repository (no image is published)",
    );
  });

  for (const row of rows) {
    it(`fails on ${row.name}`, function () {
      const res = template({ values: row.values });
      expect(res.status, 'helm template must fail').to.not.equal(0);
      expect(failureText(res)).to.include(row.expect);
    });
  }
});
