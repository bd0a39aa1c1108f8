/**
 * Values at the edge of what the API server takes, shared by the schema tests (helm alone) and the
 * chart-cluster suite, which shows that the real API server takes the accepted set and refuses each
 * refused row: so the schema refuses exactly what would otherwise fail part-way through an install.
 */

/** Every kind of value here the API server accepts, in one render. */
export const ACCEPTED_EDGE_VALUES: Record<string, unknown> = {
  fullnameOverride: 'admission-mounts',
  nameOverride: 'mounts-2',
  podDisruptionBudget: { enabled: true, maxUnavailable: '50%', minAvailable: null },
  networkPolicy: { enabled: true, apiServerCIDRs: ['10.0.0.0/8', '192.168.255.254/32', '0.0.0.0/0', 'fd00::/8', '::/0', '2001:db8::1/128'] },
  podLabels: { team: 'sandbox_a.b-c', 'example.com/owner': '', 'app.kubernetes.io/owner': 'platform' },
  commonLabels: { 'example.com/cost-center': `A${'b'.repeat(61)}9` },
  serviceMonitor: { labels: { release: 'kube-prometheus' } },
  resources: { requests: { cpu: '0.05', memory: '98304Ki' }, limits: { memory: '+0.25Gi' } },
  cleanup: { resources: { requests: { cpu: 1e-2, memory: '32e6' }, limits: { memory: '64M' } } },
  webhook: {
    namespaceSelector: {
      matchLabels: { 'example.com/sandbox': '' },
      matchExpressions: [
        { key: 'team', operator: 'In', values: ['a', 'b_c.d-e'] },
        { key: 'example.com/tier', operator: 'Exists' },
        { key: 'legacy', operator: 'DoesNotExist', values: [] },
      ],
    },
    mutating: { objectSelector: { matchExpressions: [{ key: 'app', operator: 'NotIn', values: ['x'] }] } },
  },
};

/**
 * Patterns of values.schema.json as helm's schema errors print them (backslashes doubled), for
 * tests that assert the whole line naming a refused value and the rule that refused it.
 */
export const schemaPattern = {
  segments: String.raw`^(/([^/*{}]+|\\*|\\{[^/{}]*\\}))+/?$`,
  placeholders: String.raw`^(/([^/{}]*|\\{(namespace|user|sandboxUser)\\}))+/?$`,
  firstSegment: '^/[^/*{}]+(/|$)',
  labelKey: String.raw`^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$`,
  labelValue: '^(([A-Za-z0-9][-A-Za-z0-9_.]{0,61})?[A-Za-z0-9])?$',
  keyPrefix: '^([^/]{1,253}/)?[^/]+$',
  quantity: String.raw`^\\+?([0-9]+(\\.[0-9]*)?|\\.[0-9]+)([eE][+-]?[0-9]+|Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E)?$`,
  dnsLabel: '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$',
  fullname: '^([a-z]([-a-z0-9]*[a-z0-9])?)?$',
  name: '^([a-z0-9]([-a-z0-9]*[a-z0-9])?)?$',
  percent: '^(100|[1-9]?[0-9])%$',
  webhookUrl: String.raw`^(https://[^/?#\\s@]+(/[^?#\\s]*)?)?$`,
  cidr: String.raw`^(((25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])\\.){3}(25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])/(3[0-2]|[12]?[0-9])|[0-9A-Fa-f:]*:[0-9A-Fa-f:]*(:((25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9])\\.){3}(25[0-5]|2[0-4][0-9]|1[0-9]{2}|[1-9]?[0-9]))?/(12[0-8]|1[01][0-9]|[1-9]?[0-9]))$`,
} as const;

const P = schemaPattern;

export interface RefusedValuesRow {
  readonly name: string;
  readonly values: Record<string, unknown>;
  /**
   * Whole lines of helm's schema error (without indentation and "- "): the JSON pointer of the value
   * and the rule that refuses it.
   */
  readonly schemaSays: readonly string[];
  /** What the API server's refusal names: the field of the rendered object. */
  readonly apiServerSays: string;
}

/** Values the API server refuses in one of the rendered objects. */
export const API_SERVER_REFUSES: readonly RefusedValuesRow[] = [
  { name: 'a fullnameOverride that is no DNS label (a Service name)', values: { fullnameOverride: 'My_Gate' }, schemaSays: [`at '/fullnameOverride': 'My_Gate' does not match pattern '${P.fullname}'`], apiServerSays: 'metadata.name: Invalid value: "My_Gate"' },
  { name: 'a fullnameOverride that begins with a digit (a Service name must not)', values: { fullnameOverride: '1gate' }, schemaSays: [`at '/fullnameOverride': '1gate' does not match pattern '${P.fullname}'`], apiServerSays: 'metadata.name: Invalid value: "1gate"' },
  { name: 'a nameOverride that is no DNS label', values: { nameOverride: 'Mount.Gate' }, schemaSays: [`at '/nameOverride': 'Mount.Gate' does not match pattern '${P.name}'`], apiServerSays: 'metadata.name: Invalid value: "edge-Mount.Gate"' },
  { name: 'a PodDisruptionBudget maxUnavailable that is neither a count nor a percentage', values: { podDisruptionBudget: { enabled: true, maxUnavailable: 'abc' } }, schemaSays: [`at '/podDisruptionBudget/maxUnavailable': 'abc' does not match pattern '${P.percent}'`], apiServerSays: 'spec.maxUnavailable' },
  { name: 'a PodDisruptionBudget maxUnavailable over 100%', values: { podDisruptionBudget: { enabled: true, maxUnavailable: '150%' } }, schemaSays: [`at '/podDisruptionBudget/maxUnavailable': '150%' does not match pattern '${P.percent}'`], apiServerSays: 'spec.maxUnavailable' },
  { name: 'a negative PodDisruptionBudget minAvailable', values: { podDisruptionBudget: { enabled: true, maxUnavailable: null, minAvailable: -1 } }, schemaSays: ["at '/podDisruptionBudget/minAvailable': minimum: got -1, want 0"], apiServerSays: 'spec.minAvailable' },
  { name: 'an apiServerCIDRs entry with an octet over 255', values: { networkPolicy: { enabled: true, apiServerCIDRs: ['10.0.0.300/32'] } }, schemaSays: [`at '/networkPolicy/apiServerCIDRs/0': '10.0.0.300/32' does not match pattern '${P.cidr}'`], apiServerSays: 'ipBlock.cidr' },
  { name: 'an apiServerCIDRs entry with an IPv4 prefix over 32', values: { networkPolicy: { enabled: true, apiServerCIDRs: ['10.0.0.3/99'] } }, schemaSays: [`at '/networkPolicy/apiServerCIDRs/0': '10.0.0.3/99' does not match pattern '${P.cidr}'`], apiServerSays: 'ipBlock.cidr' },
  { name: 'an apiServerCIDRs entry with an IPv6 prefix over 128', values: { networkPolicy: { enabled: true, apiServerCIDRs: ['fd00::1/129'] } }, schemaSays: [`at '/networkPolicy/apiServerCIDRs/0': 'fd00::1/129' does not match pattern '${P.cidr}'`], apiServerSays: 'ipBlock.cidr' },
  { name: 'an apiServerCIDRs entry without a prefix length', values: { networkPolicy: { enabled: true, apiServerCIDRs: ['10.0.0.1'] } }, schemaSays: [`at '/networkPolicy/apiServerCIDRs/0': '10.0.0.1' does not match pattern '${P.cidr}'`], apiServerSays: 'ipBlock.cidr' },
  { name: 'a pod label value with a space', values: { podLabels: { team: 'sand box' } }, schemaSays: [`at '/podLabels/team': 'sand box' does not match pattern '${P.labelValue}'`], apiServerSays: 'labels: Invalid value: "sand box"' },
  { name: 'a pod label value over 63 characters', values: { podLabels: { team: 'a'.repeat(64) } }, schemaSays: [`at '/podLabels/team': '${'a'.repeat(64)}' does not match pattern '${P.labelValue}'`], apiServerSays: 'labels: Invalid value: "aaaa' },
  { name: 'a pod label key with a space', values: { podLabels: { 'my team': 'a' } }, schemaSays: ["at '/podLabels': 'allOf' failed", "at '': invalid propertyName 'my team'", `at '': 'my team' does not match pattern '${P.labelKey}'`], apiServerSays: 'labels: Invalid value: "my team"' },
  { name: 'a common label value with a space', values: { commonLabels: { team: 'sand box' } }, schemaSays: [`at '/commonLabels/team': 'sand box' does not match pattern '${P.labelValue}'`], apiServerSays: 'labels: Invalid value: "sand box"' },
  { name: 'a negative memory limit', values: { resources: { limits: { memory: '-1Mi' } } }, schemaSays: [`at '/resources/limits/memory': '-1Mi' does not match pattern '${P.quantity}'`], apiServerSays: 'must be greater than or equal to 0' },
  { name: 'a namespaceSelector expression In without values', values: { webhook: { namespaceSelector: { matchExpressions: [{ key: 'team', operator: 'In' }] } } }, schemaSays: ["at '/webhook/namespaceSelector/matchExpressions/0': missing property 'values'"], apiServerSays: 'matchExpressions[0].values: Required value' },
  { name: 'a namespaceSelector expression NotIn with an empty values list', values: { webhook: { validating: { namespaceSelector: { matchExpressions: [{ key: 'team', operator: 'NotIn', values: [] }] } } } }, schemaSays: ["at '/webhook/validating/namespaceSelector/matchExpressions/0/values': minItems: got 0, want 1"], apiServerSays: 'matchExpressions[0].values: Required value' },
  { name: 'an objectSelector expression Exists with values', values: { webhook: { mutating: { objectSelector: { matchExpressions: [{ key: 'team', operator: 'Exists', values: ['a'] }] } } } }, schemaSays: ["at '/webhook/mutating/objectSelector/matchExpressions/0/values': maxItems: got 1, want 0"], apiServerSays: 'matchExpressions[0].values: Forbidden' },
  { name: 'a namespaceSelector expression key with a space', values: { webhook: { namespaceSelector: { matchExpressions: [{ key: 'my team', operator: 'Exists' }] } } }, schemaSays: [`at '/webhook/namespaceSelector/matchExpressions/0/key': 'my team' does not match pattern '${P.labelKey}'`], apiServerSays: 'matchExpressions[0].key: Invalid value: "my team"' },
  { name: 'a namespaceSelector expression value with a space', values: { webhook: { namespaceSelector: { matchExpressions: [{ key: 'team', operator: 'In', values: ['sand box'] }] } } }, schemaSays: [`at '/webhook/namespaceSelector/matchExpressions/0/values/0': 'sand box' does not match pattern '${P.labelValue}'`], apiServerSays: 'Invalid value: "sand box"' },
  { name: 'a namespaceSelector label value with a space', values: { webhook: { namespaceSelector: { matchLabels: { team: 'sand box' } } } }, schemaSays: [`at '/webhook/namespaceSelector/matchLabels/team': 'sand box' does not match pattern '${P.labelValue}'`], apiServerSays: 'matchLabels: Invalid value: "sand box"' },
  { name: 'a webhook.url with user information', values: { webhook: { url: 'https://user@mountgate.example.com' } }, schemaSays: [`at '/webhook/url': 'https://user@mountgate.example.com' does not match pattern '${P.webhookUrl}'`], apiServerSays: 'user information is not permitted in the URL' },
  { name: 'an objectSelector label key with a space', values: { webhook: { validating: { objectSelector: { matchLabels: { 'my team': 'a' } } } } }, schemaSays: ["at '/webhook/validating/objectSelector/matchLabels': 'allOf' failed", "at '': invalid propertyName 'my team'", `at '': 'my team' does not match pattern '${P.labelKey}'`], apiServerSays: 'matchLabels: Invalid value: "my team"' },
];
