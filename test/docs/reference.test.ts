import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { anchorsOf, badLinks, linkTargets, outsideMentions, repositoryFiles } from './links.js';
import { missingFacts } from './reference-check.js';
import { allFacts, environmentFacts, metricFacts, policyFacts, routeFacts, routesInCode, type Fact } from './reference-facts.js';

const ROOT = process.cwd();
const REFERENCE = readFileSync(join(ROOT, 'docs/reference.md'), 'utf8');

/** The reference with every line that contains `text` removed. */
function without(text: string): string {
  return REFERENCE.split('\n')
    .filter((line) => !line.includes(text))
    .join('\n');
}

describe('docs/reference.md', () => {
  describe('states what the code does', () => {
    const groups: Array<[string, () => Fact[]]> = [
      ['every command and every flag, with its short form, variable and default', () => allFacts(ROOT).filter((fact) => / flag --|a section for/.test(fact.what))],
      ['every environment variable the source reads', () => environmentFacts(ROOT)],
      ['every policy key, with its default and allowed values', policyFacts],
      ['every metric, with its labels and buckets', metricFacts],
      ['every route', () => routeFacts(ROOT)],
      ['every fact at all (limits, system paths, log levels, exit codes)', () => allFacts(ROOT)],
    ];
    for (const [name, facts] of groups) {
      it(name, () => {
        expect(facts()).not.to.be.empty;
        expect(missingFacts(REFERENCE, facts())).to.deep.equal([]);
      });
    }

    it('derives the facts from the code: the known ones are among them', () => {
      const what = allFacts(ROOT).map((fact) => fact.what);
      expect(what).to.include.members([
        'serve flag --pod-security-preflight',
        'audit flag --page-size',
        'check flag --group',
        'a section for mountgate help',
        'environment variable MOUNTGATE_POD_SECURITY_PREFLIGHT',
        'policy key readOnly',
        'policy key hostPathType',
        'metric mountgate_admission_duration_seconds',
      ]);
      expect(routesInCode(ROOT)).to.deep.equal(['/healthz', '/metrics', '/mutate', '/readyz', '/validate', '/validate-mountpolicy']);
    });

    it('lists no route the servers do not answer', () => {
      const table = REFERENCE.split('\n').filter((line) => /^\| `(GET|POST) \//.test(line));
      const documented = table.map((line) => /^\| `[A-Z]+ (\/[a-z]+(?:-[a-z]+)*)`/.exec(line)?.[1]);
      expect([...new Set(documented)].sort()).to.deep.equal(routesInCode(ROOT));
    });
  });

  describe('the check fails when the text is wrong', () => {
    const doctored: Array<[string, string, string | string[]]> = [
      ['a flag row removed', without('`--page-size N`'), 'audit flag --page-size'],
      ['a short form dropped', REFERENCE.replace('| `-n`, `--namespace NS`', '| `--namespace NS`'), 'audit flag --namespace'],
      ['a default changed', REFERENCE.replace('| `--port PORT` | `MOUNTGATE_PORT` | `8443`', '| `--port PORT` | `MOUNTGATE_PORT` | `443`'), 'serve flag --port'],
      ['a variable removed', REFERENCE.replaceAll('`MOUNTGATE_KUBECONFIG`', '`KUBECONFIG`'), ['serve flag --kubeconfig', 'environment variable MOUNTGATE_KUBECONFIG']],
      ['a command section removed', REFERENCE.replace('### `mountgate check`', '### checking'), ['a section for mountgate check', 'check flag --config', 'check flag --file', 'check flag --old', 'check flag --user', 'check flag --group', 'check flag --namespace', 'check flag --mount-policy']],
      ['a policy key removed', without('| `maxMounts`'), 'policy key maxMounts'],
      ['a policy default changed', REFERENCE.replace('| `maxMounts` | `10` |', '| `maxMounts` | `12` |'), 'policy key maxMounts'],
      ['an allowed value dropped', REFERENCE.replace('`auto`, `Directory` or `DirectoryOrCreate` ([section 7]', '`auto` or `Directory` ([section 7]'), 'policy key hostPathType'],
      ['a metric removed', without('`mountgate_reloads_total`'), 'metric mountgate_reloads_total'],
      ['a bucket dropped', REFERENCE.replace('`0.00025`, ', ''), 'metric mountgate_admission_duration_seconds'],
      ['a label dropped', REFERENCE.replace('`kind` (`policy`, `certificate`)', 'kind'), 'metric mountgate_reloads_total'],
      ['a route removed', without('| `GET /readyz`'), 'route /readyz'],
      ['a limit changed', REFERENCE.replace('| 3145728 bytes', '| 4194304 bytes'), 'limit: the body limit'],
      ['an exit code removed', without('| `1` | `check`'), 'exit code 1'],
    ];
    for (const [name, text, what] of doctored) {
      it(name, () => {
        expect(text, 'the doctoring changed nothing').not.to.equal(REFERENCE);
        expect(missingFacts(text, allFacts(ROOT)).map((missing) => missing.what)).to.deep.equal(Array.isArray(what) ? what : [what]);
      });
    }
  });
});

describe('Markdown links stay in the repository', () => {
  const files = repositoryFiles(ROOT);
  const markdown = files.filter((file) => file.endsWith('.md'));

  it('finds the Markdown files', () => expect(markdown).to.include.members(['README.md', 'docs/reference.md', 'charts/mountgate/README.md', 'test/e2e/README.md']));

  for (const file of markdown) {
    it(file, () => expect(badLinks(ROOT, file, readFileSync(join(ROOT, file), 'utf8'))).to.deep.equal([]));
  }

  it('the README links to the reference', () => expect(linkTargets(readFileSync(join(ROOT, 'README.md'), 'utf8'))).to.include('docs/reference.md'));

  it('no file mentions a document outside the repository', () => expect(outsideMentions(ROOT, files)).to.deep.equal([]));

  describe('the check fails on links that leave', () => {
    const rows: Array<[string, string, string]> = [
      ['a file above the root', 'see [x](../../elsewhere/X.md)', 'leaves the repository root'],
      ['a sibling directory of the root', 'see [x](../x/README.md)', 'leaves the repository root'],
      ['a URL', 'see [x](https://example.com/x)', 'leaves the repository'],
      ['an autolink', 'see <https://example.com/x>', 'leaves the repository'],
      ['an HTML link', 'see <a href="file:///etc/passwd">x</a>', 'leaves the repository'],
      ['a reference definition', '[x]: ../../x.md', 'leaves the repository root'],
      ['an absolute path', 'see [x](/etc/passwd)', 'is an absolute path'],
      ['a file that does not exist', 'see [x](docs/nothing.md)', 'names a file that does not exist'],
      ['a heading that does not exist', 'see [x](docs/reference.md#nothing-here)', 'names a heading that does not exist'],
      ['an anchor of this file that does not exist', '# Title\n\nsee [x](#other)', 'names a heading that does not exist'],
    ];
    for (const [name, text, problem] of rows) {
      it(name, () => {
        const problems = badLinks(ROOT, 'README.md', text);
        expect(problems).to.have.length(1);
        expect(problems[0]).to.include(problem);
      });
    }

    it('takes links in code for examples', () => expect(badLinks(ROOT, 'README.md', 'run `[x](../y)` and\n```\n[x](https://example.com)\n```\n')).to.deep.equal([]));
    it('accepts a heading of the same file', () => expect(badLinks(ROOT, 'README.md', '## 8. /validate\n\nsee [x](#8-validate)')).to.deep.equal([]));
    it('makes GitHub anchors', () => expect([...anchorsOf('# A b\n## `mountgate serve`\n## 3. HTTP\n## A b\n')]).to.deep.equal(['a-b', 'mountgate-serve', '3-http', 'a-b-1']));
  });
});
