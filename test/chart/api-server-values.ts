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

export interface RefusedValuesRow {
  readonly name: string;
  readonly values: Record<string, unknown>;
  /** What helm's schema error names: the JSON pointer of the value. */
  readonly pointer: string;
  /** What the API server's refusal names: the field of the rendered object. */
  readonly apiServerSays: string;
}

/** Values the API server refuses in one of the rendered objects. */
export const API_SERVER_REFUSES: readonly RefusedValuesRow[] = [
  { name: 'a fullnameOverride that is no DNS label (a Service name)', values: { fullnameOverride: 'My_Gate' }, pointer: "'/fullnameOverride': 'My_Gate' does not match pattern", apiServerSays: 'metadata.name: Invalid value: "My_Gate"' },
  { name: 'a fullnameOverride that begins with a digit (a Service name must not)', values: { fullnameOverride: '1gate' }, pointer: "'/fullnameOverride'", apiServerSays: 'metadata.name: Invalid value: "1gate"' },
  { name: 'a nameOverride that is no DNS label', values: { nameOverride: 'Mount.Gate' }, pointer: "'/nameOverride': 'Mount.Gate' does not match pattern", apiServerSays: 'metadata.name: Invalid value: "edge-Mount.Gate"' },
  { name: 'a PodDisruptionBudget maxUnavailable that is neither a count nor a percentage', values: { podDisruptionBudget: { enabled: true, maxUnavailable: 'abc' } }, pointer: '/podDisruptionBudget/maxUnavailable', apiServerSays: 'spec.maxUnavailable' },
  { name: 'a PodDisruptionBudget maxUnavailable over 100%', values: { podDisruptionBudget: { enabled: true, maxUnavailable: '150%' } }, pointer: '/podDisruptionBudget/maxUnavailable', apiServerSays: 'spec.maxUnavailable' },
  { name: 'a negative PodDisruptionBudget minAvailable', values: { podDisruptionBudget: { enabled: true, maxUnavailable: null, minAvailable: -1 } }, pointer: '/podDisruptionBudget/minAvailable', apiServerSays: 'spec.minAvailable' },
  { name: 'an apiServerCIDRs entry with an octet over 255', values: { networkPolicy: { enabled: true, apiServerCIDRs: ['10.0.0.300/32'] } }, pointer: '/networkPolicy/apiServerCIDRs/0', apiServerSays: 'ipBlock.cidr' },
  { name: 'an apiServerCIDRs entry with an IPv4 prefix over 32', values: { networkPolicy: { enabled: true, apiServerCIDRs: ['10.0.0.3/99'] } }, pointer: '/networkPolicy/apiServerCIDRs/0', apiServerSays: 'ipBlock.cidr' },
  { name: 'an apiServerCIDRs entry with an IPv6 prefix over 128', values: { networkPolicy: { enabled: true, apiServerCIDRs: ['fd00::1/129'] } }, pointer: '/networkPolicy/apiServerCIDRs/0', apiServerSays: 'ipBlock.cidr' },
  { name: 'an apiServerCIDRs entry without a prefix length', values: { networkPolicy: { enabled: true, apiServerCIDRs: ['10.0.0.1'] } }, pointer: '/networkPolicy/apiServerCIDRs/0', apiServerSays: 'ipBlock.cidr' },
  { name: 'a pod label value with a space', values: { podLabels: { team: 'sand box' } }, pointer: '/podLabels/team', apiServerSays: 'labels: Invalid value: "sand box"' },
  { name: 'a pod label value over 63 characters', values: { podLabels: { team: 'a'.repeat(64) } }, pointer: '/podLabels/team', apiServerSays: 'labels: Invalid value: "aaaa' },
  { name: 'a pod label key with a space', values: { podLabels: { 'my team': 'a' } }, pointer: '/podLabels', apiServerSays: 'labels: Invalid value: "my team"' },
  { name: 'a common label value with a space', values: { commonLabels: { team: 'sand box' } }, pointer: '/commonLabels/team', apiServerSays: 'labels: Invalid value: "sand box"' },
  { name: 'a negative memory limit', values: { resources: { limits: { memory: '-1Mi' } } }, pointer: '/resources/limits/memory', apiServerSays: 'must be greater than or equal to 0' },
  { name: 'a namespaceSelector expression In without values', values: { webhook: { namespaceSelector: { matchExpressions: [{ key: 'team', operator: 'In' }] } } }, pointer: '/webhook/namespaceSelector', apiServerSays: 'matchExpressions[0].values: Required value' },
  { name: 'a namespaceSelector expression NotIn with an empty values list', values: { webhook: { validating: { namespaceSelector: { matchExpressions: [{ key: 'team', operator: 'NotIn', values: [] }] } } } }, pointer: '/webhook/validating/namespaceSelector', apiServerSays: 'matchExpressions[0].values: Required value' },
  { name: 'an objectSelector expression Exists with values', values: { webhook: { mutating: { objectSelector: { matchExpressions: [{ key: 'team', operator: 'Exists', values: ['a'] }] } } } }, pointer: '/webhook/mutating/objectSelector/matchExpressions/0', apiServerSays: 'matchExpressions[0].values: Forbidden' },
  { name: 'a namespaceSelector expression key with a space', values: { webhook: { namespaceSelector: { matchExpressions: [{ key: 'my team', operator: 'Exists' }] } } }, pointer: '/webhook/namespaceSelector', apiServerSays: 'matchExpressions[0].key: Invalid value: "my team"' },
  { name: 'a namespaceSelector expression value with a space', values: { webhook: { namespaceSelector: { matchExpressions: [{ key: 'team', operator: 'In', values: ['sand box'] }] } } }, pointer: '/webhook/namespaceSelector', apiServerSays: 'Invalid value: "sand box"' },
  { name: 'a namespaceSelector label value with a space', values: { webhook: { namespaceSelector: { matchLabels: { team: 'sand box' } } } }, pointer: '/webhook/namespaceSelector', apiServerSays: 'matchLabels: Invalid value: "sand box"' },
  { name: 'an objectSelector label key with a space', values: { webhook: { validating: { objectSelector: { matchLabels: { 'my team': 'a' } } } } }, pointer: '/webhook/validating/objectSelector/matchLabels', apiServerSays: 'matchLabels: Invalid value: "my team"' },
];
