import { expect } from 'chai';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseAllDocuments, Scalar, visit } from 'yaml';
import { backstopCommand } from '../../src/cli/backstop.js';
import { check } from '../../src/cli/check.js';
import { EXIT_OK } from '../../src/cli/usage.js';
import { BASE_POLICY } from '../helpers/policies.js';

/**
 * Strings that a YAML 1.1 reader takes for another type when they are written plain, with what it reads:
 * kubectl's (sigs.k8s.io/yaml, go-yaml v2), checked once against sigs.k8s.io/yaml v1.6.0, unless said.
 * The rows marked "go-yaml v2 only" are strings for the YAML 1.1 parser of the `yaml` package: only the
 * quotes tell there.
 */
const AMBIGUOUS: Array<[string, string]> = [
  ['on', 'true'],
  ['On', 'true'],
  ['yes', 'true'],
  ['y', 'true'],
  ['Y', 'true'],
  ['true', 'true'],
  ['off', 'false'],
  ['no', 'false'],
  ['n', 'false'],
  ['NO', 'false'],
  ['False', 'false'],
  ['~', 'null'],
  ['null', 'null'],
  ['', 'null'],
  ['.inf', '+Inf'],
  ['-.Inf', '-Inf'],
  ['.NaN', 'NaN'],
  ['1_000', '1000'],
  ['0b11', '3'],
  ['-0b11', '-3'],
  ['017', '15'],
  ['0x1F', '31'],
  ['0o17', '15 (go-yaml v2 only: a Go literal)'],
  ['0O17', '15 (go-yaml v2 only)'],
  ['+0o17', '15 (go-yaml v2 only)'],
  ['0X1F', '31 (go-yaml v2 only)'],
  ['0_x1F', '31 (go-yaml v2 only: every "_" dropped)'],
  ['-_1', '-1 (go-yaml v2 only)'],
  ['1e_3', '1000 (go-yaml v2 only)'],
  ['0b-101', '-5 (go-yaml v2 only: its own 0b with the sign after it)'],
  ['.1_0', '0.1 (go-yaml v2 only: Go\'s float syntax after a leading dot)'],
  ['1_', '1'],
  ['1e3', '1000'],
  ['1_000.5', '1000.5'],
  ['.5', '0.5'],
  ['1.', '1'],
  ['1:30', '90 in base 60 (YAML 1.1; go-yaml v2: a string)'],
  ['2001-12-14', 'a timestamp (YAML 1.1; go-yaml v2: a string)'],
  ['<<', 'a merge key (go-yaml v2 refuses the document)'],
];

/** What stays plain: the output is for people too. */
const PLAIN = ['sandbox', 'team-a', '_1', '0x', '1.2.3', 'v1', 'x\ty'];

const WITH_A_BREAK: Array<[string, string]> = [
  ['a\u2028b', 'LS'],
  ['a\u0085b', 'NEL'],
  ['a\u2029b', 'PS'],
];

/** Characters go-yaml v2's reader refuses anywhere in its input, quoted or not ("control characters are not allowed"). */
const REFUSED_RAW: Array<[string, string]> = [
  ['a\u007fb', 'U+007F (DEL)'],
  ['a\u0080b', 'U+0080, a C1 control'],
  ['a\u009bb', 'U+009B (CSI), a C1 control'],
  ['a\u009fb', 'U+009F, a C1 control'],
  ['a\ufffeb', 'U+FFFE, a noncharacter'],
  ['a\uffffb', 'U+FFFF, a noncharacter'],
];

/**
 * Strings of several lines whose first line with text begins with a blank: the yaml package would write them as a
 * block scalar without an indentation indicator, read back without that blank, or refused for the tab.
 */
const BLANK_FIRST_LINE: Array<[string, string]> = [
  [' \n', 'a space, then a line break'],
  ['\n  \n', 'an empty line, then one of spaces'],
  ['\tset -e\nrun', 'a tab at the start of a script'],
  ['\n\tx', 'a tab after an empty line'],
];

/** The plain scalars of a YAML stream, as written. */
function plainScalars(text: string): string[] {
  const plain: string[] = [];
  for (const document of parseAllDocuments(text, { version: '1.1' })) {
    if (!('contents' in document)) continue;
    visit(document, {
      Scalar(_key, node) {
        if (node.type === Scalar.PLAIN && node.source !== undefined) plain.push(node.source);
      },
    });
  }
  return plain;
}

function readAs11(text: string): unknown[] {
  return parseAllDocuments(text, { version: '1.1' }).map((document) => {
    if (!('toJS' in document)) throw new Error('not a YAML document');
    expect(document.errors).to.deep.equal([]);
    return document.toJS() as unknown;
  });
}

function podWith(text: string): Record<string, unknown> {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: 'p', namespace: 'agents', labels: { team: text, [text]: 'x' }, annotations: { note: text, [`k${text}`]: text } },
    spec: { nodeSelector: { [text]: text }, containers: [{ name: 'c', image: 'x', args: [text], env: [{ name: 'A', value: text }] }] },
  };
}

describe('cli: the YAML of check and backstop reads back unchanged in YAML 1.1 (kubectl)', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'mountgate-yaml-'));
    await writeFile(join(dir, 'policy.json'), JSON.stringify(BASE_POLICY));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  async function checkOutput(pod: unknown, old?: unknown): Promise<string> {
    await writeFile(join(dir, 'pod.json'), JSON.stringify(pod));
    const argv = ['--config', join(dir, 'policy.json'), '-f', join(dir, 'pod.json')];
    if (old !== undefined) {
      await writeFile(join(dir, 'old.json'), JSON.stringify(old));
      argv.push('--old', join(dir, 'old.json'));
    }
    let stdout = '';
    let stderr = '';
    const code = await check(argv, { stdout: (text) => (stdout += text), stderr: (text) => (stderr += text), readStdin: () => Promise.resolve('') });
    expect(code, stderr).to.equal(EXIT_OK);
    return stdout;
  }

  async function backstopOutput(argv: string[]): Promise<string> {
    let stdout = '';
    expect(await backstopCommand(['--config', join(dir, 'policy.json'), ...argv], { stdout: (text) => (stdout += text) })).to.equal(EXIT_OK);
    return stdout;
  }

  describe('check: a label, annotation, node selector, argument and variable, as key and value', () => {
    for (const [text, readAs] of AMBIGUOUS) {
      it(`${JSON.stringify(text)} (read plain as ${readAs}) is quoted`, async () => {
        const pod = podWith(text);
        const printed = await checkOutput(pod);
        expect(readAs11(printed)).to.deep.equal([pod]);
        expect(plainScalars(printed)).not.to.include(text);
      });
    }
    for (const [text, name] of WITH_A_BREAK) {
      it(`a string with ${name}, a line break in YAML 1.1 only, is escaped`, async () => {
        const pod = podWith(text);
        const printed = await checkOutput(pod);
        expect(printed).not.to.match(/[\u0085\u2028\u2029]/);
        expect(readAs11(printed)).to.deep.equal([pod]);
      });
    }
    for (const [text, name] of REFUSED_RAW) {
      it(`a string with ${name}, which kubectl refuses unescaped, is escaped`, async () => {
        const pod = podWith(text);
        const printed = await checkOutput(pod);
        expect(printed).not.to.match(/[\u007f-\u009f\ufffe\uffff]/);
        expect(readAs11(printed)).to.deep.equal([pod]);
      });
    }
    for (const [text, name] of BLANK_FIRST_LINE) {
      it(`a string of several lines that begins with a blank (${name}) reads back unchanged`, async () => {
        const pod = podWith(text);
        const printed = await checkOutput(pod);
        expect(readAs11(printed)).to.deep.equal([pod]);
        // go-yaml v2 refuses a tab where a block scalar's indentation is found: double quotes hold it.
        expect(printed).to.include('    note: "');
      });
    }
    for (const text of PLAIN) {
      it(`${JSON.stringify(text)} stays plain`, async () => {
        const pod = podWith(text);
        const printed = await checkOutput(pod);
        expect(readAs11(printed)).to.deep.equal([pod]);
        expect(plainScalars(printed)).to.include(text);
      });
    }
    it('--old: the update printed unchanged', async () => {
      const pod = podWith('on');
      const printed = await checkOutput(pod, pod);
      expect(readAs11(printed)).to.deep.equal([pod]);
      expect(plainScalars(printed)).not.to.include('on');
    });
  });

  describe('backstop: --namespace-label and --exclude-namespace', () => {
    const LABEL_VALUE = /^[A-Za-z0-9](?:[-A-Za-z0-9_.]*[A-Za-z0-9])?$/;
    const NAMESPACE = /^[a-z0-9](?:[-a-z0-9]*[a-z0-9])?$/;
    for (const [text, readAs] of AMBIGUOUS.filter(([text]) => LABEL_VALUE.test(text))) {
      it(`--namespace-label team=${text} (read plain as ${readAs}) is quoted`, async () => {
        const printed = await backstopOutput(['--namespace-label', `team=${text}`]);
        const [, binding] = readAs11(printed) as [unknown, { spec: { matchResources: { namespaceSelector: { matchLabels: unknown } } } }];
        expect(binding.spec.matchResources.namespaceSelector.matchLabels).to.deep.equal({ team: text });
        expect(plainScalars(printed)).not.to.include(text);
      });
    }
    for (const [text, readAs] of AMBIGUOUS.filter(([text]) => NAMESPACE.test(text))) {
      it(`--exclude-namespace ${text} (read plain as ${readAs}) is quoted`, async () => {
        const printed = await backstopOutput(['--exclude-namespace', text]);
        const [, binding] = readAs11(printed) as [unknown, { spec: { matchResources: { namespaceSelector: { matchExpressions: Array<{ values: unknown }> } } } }];
        expect(binding.spec.matchResources.namespaceSelector.matchExpressions[0]?.values).to.deep.equal(['kube-system', text]);
        expect(plainScalars(printed)).not.to.include(text);
      });
    }
  });
});
