/**
 * `helm lint --strict` passes for every certificate mode and with every feature on; the helm in use
 * is the pinned one, built as released; Chart.yaml's kubeVersion refuses clusters older than 1.25.
 */
import { expect } from 'chai';
import path from 'node:path';
import {
  CHART_DIR,
  HELM_DEFAULT_KUBE_VERSION,
  IMAGE_VALUES,
  VALUES_DIR,
  all,
  defaultKubeVersion,
  failureText,
  helm,
  helmPath,
  parseManifests,
  template,
} from './helm.js';
import { modeRows } from './fixtures.js';

function lintArgs(files: readonly string[], setFile: Readonly<Record<string, string>>): string[] {
  const args = ['lint', '--strict', CHART_DIR, '--namespace', 'mountgate-system', '--values', IMAGE_VALUES];
  for (const f of files) args.push('--values', f);
  for (const [k, v] of Object.entries(setFile)) args.push('--set-file', `${k}=${v}`);
  return args;
}

describe('helm lint --strict', function () {
  it('uses the pinned helm v3.21.4', function () {
    const res = helm(['version', '--template', '{{.Version}}']);
    expect(res.status, res.stderr).to.equal(0);
    expect(res.stdout.trim(), `helm at ${helmPath()}`).to.equal('v3.21.4');
  });

  // Every render without --kube-version depends on it (the backstop, the PDB's 1.27+ field).
  it(`assumes Kubernetes ${HELM_DEFAULT_KUBE_VERSION} without --kube-version, as the released helm v3.21.4 does`, function () {
    expect(defaultKubeVersion(), `helm at ${helmPath()} (a helm built without the release's ldflags assumes v1.20.0: rerun scripts/install-helm.sh)`).to.equal(HELM_DEFAULT_KUBE_VERSION);
  });

  const rows = [
    { name: 'default values', files: [] as string[], setFile: {} as Record<string, string> },
    ...modeRows().map((r) => ({ name: `certs: ${r.name}`, files: r.files, setFile: r.setFile })),
    { name: 'every feature on (full.yaml)', files: [path.join(VALUES_DIR, 'full.yaml')], setFile: {} },
    { name: 'mountPolicies on alone, Pod Security preflight off', files: [path.join(VALUES_DIR, 'mount-policies.yaml')], setFile: {} },
  ];
  for (const row of rows) {
    it(`passes with ${row.name}`, function () {
      const res = helm(lintArgs(row.files, row.setFile));
      expect(res.status, failureText(res)).to.equal(0);
      expect(res.stdout).to.match(/1 chart\(s\) linted, 0 chart\(s\) failed/);
      expect(res.stdout).not.to.match(/\[(ERROR|WARNING)\]/);
    });
  }

  it('fails on a values file that breaks the schema', function () {
    const res = helm(lintArgs([path.join(VALUES_DIR, 'bad', 'policy-hostpathtype.yaml')], {}));
    expect(res.status).to.not.equal(0);
    expect(failureText(res)).to.include('/policy/hostPathType');
  });
});

describe('Chart.yaml kubeVersion >=1.25.0-0: helm refuses an older cluster', function () {
  // Before 1.28 the annotations webhook has no matchConditions to narrow it (test/chart/older-clusters.test.ts).
  const withoutAnnotationUpdates = { webhook: { validating: { annotationUpdates: false } } };
  const rows: Array<{ kubeVersion: string; refused?: string; values?: Record<string, unknown> }> = [
    { kubeVersion: '1.24.17', refused: 'chart requires kubeVersion: >=1.25.0-0 which is incompatible with Kubernetes v1.24.17' },
    { kubeVersion: '1.25.0', values: withoutAnnotationUpdates },
    { kubeVersion: '1.25.16-gke.1000', values: withoutAnnotationUpdates },
    { kubeVersion: '1.34.0' },
  ];
  for (const row of rows) {
    it(`--kube-version ${row.kubeVersion}${row.values === undefined ? '' : ', annotationUpdates off'}: ${row.refused === undefined ? 'renders' : 'refused'}`, function () {
      const res = template({ values: row.values, extraArgs: ['--kube-version', row.kubeVersion] });
      if (row.refused === undefined) {
        expect(res.status, failureText(res)).to.equal(0);
        expect(all(parseManifests(res.stdout), 'Deployment')).to.have.length(1);
      } else {
        expect(res.status).to.not.equal(0);
        expect(res.stdout).to.equal('');
        expect(res.stderr).to.include(row.refused);
      }
    });
  }
});
