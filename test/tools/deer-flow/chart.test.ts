/**
 * What the deer-flow provisioner tool reads from deer-flow's rendered chart
 * (test/e2e/tools/deer-flow/chart.ts): the provisioner's env, its ServiceAccount and the RBAC
 * objects to create, with env taken from Secrets named rather than dropped silently.
 */
import { expect } from 'chai';
import { readProvisionerChart } from '../../e2e/tools/deer-flow/chart.js';

const RENDERED = `---
apiVersion: v1
kind: ServiceAccount
metadata:
  name: deer-flow-deer-flow-provisioner
  namespace: deer-flow
---
apiVersion: rbac.authorization.k8s.io/v1
kind: Role
metadata:
  name: deer-flow-deer-flow-provisioner
  namespace: deer-flow
rules:
  - apiGroups: [""]
    resources: ["pods"]
    verbs: ["create"]
---
apiVersion: apps/v1
kind: Deployment
metadata:
  name: deer-flow-deer-flow-provisioner
  namespace: deer-flow
spec:
  template:
    spec:
      serviceAccountName: deer-flow-deer-flow-provisioner
      containers:
        - name: provisioner
          env:
            - name: K8S_NAMESPACE
              value: "deer-flow"
            - name: USERDATA_PVC_NAME
              value: "deer-flow-deer-flow-home"
            - name: PROVISIONER_API_KEY
              valueFrom:
                secretKeyRef: { name: s, key: k }
`;

describe('deer-flow provisioner tool: the chart', () => {
  it("reads the provisioner's env values, and names the ones it takes from elsewhere", () => {
    const chart = readProvisionerChart(RENDERED);
    expect(chart.env).to.deep.equal({ K8S_NAMESPACE: 'deer-flow', USERDATA_PVC_NAME: 'deer-flow-deer-flow-home' });
    expect(chart.envFromElsewhere).to.deep.equal(['PROVISIONER_API_KEY']);
  });

  it('reads the ServiceAccount the provisioner runs as', () => {
    expect(readProvisionerChart(RENDERED).serviceAccount).to.deep.equal({ namespace: 'deer-flow', name: 'deer-flow-deer-flow-provisioner' });
  });

  it('keeps every object but the Deployment, to be created', () => {
    expect(readProvisionerChart(RENDERED).objects.map((o) => o.kind)).to.deep.equal(['ServiceAccount', 'Role']);
  });

  it('refuses a render without the Deployment or without its ServiceAccount', () => {
    expect(() => readProvisionerChart(RENDERED.split('kind: Deployment')[0] ?? '')).to.throw(/no provisioner Deployment/);
    expect(() => readProvisionerChart(RENDERED.replace('serviceAccountName: deer-flow-deer-flow-provisioner', ''))).to.throw(/serviceAccountName/);
  });
});
