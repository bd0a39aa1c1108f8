/**
 * The deer-flow provisioner tool's judgement of one request (test/e2e/tools/deer-flow/verdict.ts):
 * every way a request can go other than expected is caught, and the lines say what happened.
 */
import { expect } from 'chai';
import { deerFlowSandboxPod } from '../../e2e/deer-flow-pods.js';
import { comparablePod } from '../../e2e/tools/deer-flow/pod-diff.js';
import type { Expected } from '../../e2e/tools/deer-flow/settings.js';
import { decisionsOn, judge, needsModel, resultLine, summaryLines, type Observation, type Result } from '../../e2e/tools/deer-flow/verdict.js';

const POD = comparablePod(deerFlowSandboxPod({ sandboxId: 'sb-1' }));
const OTHER_POD = comparablePod(deerFlowSandboxPod({ sandboxId: 'sb-1', userId: 'u4' }));
const CREATED: Expected = { outcome: 'created' };
const CLASH: Expected = { outcome: 'refused', status: 500, detail: 'Pod creation failed: Unprocessable Entity', model: { code: 422, says: 'must be unique' } };
const DUPLICATE: Expected = { outcome: 'refused', status: 400, detail: 'Duplicate extra mount path' };
const BAD_TEMPLATE: Expected = { outcome: 'refused', status: 500, detail: 'Internal Server Error', logSays: "KeyError: 'tenant'" };
const NONE = { validateAllowed: 0, all: 0 };
const ADMITTED_ONCE = { validateAllowed: 1, all: 1 };
/** A refusal the provisioner makes on its own: mountgate never sees a Pod. */
const refusedAlone = (status: number, body: string, log = ''): Observation => ({ status, body, stored: undefined, model: { kind: 'not sent' }, decisions: NONE, log });

const created: Observation = { status: 200, body: '{"sandbox_id":"sb-1"}', stored: POD, model: { kind: 'admitted', pod: POD }, decisions: ADMITTED_ONCE, log: '' };
const clash: Observation = {
  status: 500,
  body: '{"detail":"Pod creation failed: Unprocessable Entity"}',
  stored: undefined,
  model: { kind: 'refused', code: 422, message: 'Pod "sandbox-sb-1" is invalid: ... "/mnt/skills/custom": must be unique' },
  decisions: NONE,
  log: '',
};

describe('deer-flow provisioner tool: judging a request', () => {
  it('passes a created Pod equal to the model', () => {
    expect(judge(CREATED, created)).to.deep.equal({ ok: true, text: 'same as the model' });
  });

  it('fails a created Pod that differs from the model, naming the fields', () => {
    const verdict = judge(CREATED, { ...created, stored: OTHER_POD });
    expect(verdict.ok).to.equal(false);
    expect(verdict.text).to.contain('spec.volumes[name=skills-custom].hostPath.path: model "/.deer-flow/users/default/skills_view/custom", real "/.deer-flow/users/u4/skills_view/custom"');
  });

  const notCreated: ReadonlyArray<[string, Observation, string]> = [
    ['another HTTP status', { ...created, status: 500, body: '{"detail":"Pod creation failed: Forbidden"}' }, 'expected HTTP 200, got 500'],
    ['no Pod stored', { ...created, stored: undefined }, 'no Pod stored'],
    ['the model refused', { ...created, model: { kind: 'refused', code: 403, message: 'denied' } }, "the model's Pod was refused with 403 (denied)"],
    ['the model not built', { ...created, model: { kind: 'threw', message: 'outside' } }, "the model's Pod was not built (outside)"],
    ['no /validate of mountgate (the webhook skipped the Pod)', { ...created, decisions: NONE }, 'expected one /validate of mountgate admitting the Pod, saw 0'],
    ['two /validate decisions', { ...created, decisions: { validateAllowed: 2, all: 2 } }, 'expected one /validate of mountgate admitting the Pod, saw 2'],
  ];
  for (const [name, seen, says] of notCreated) {
    it(`fails an expected creation with ${name}`, () => {
      const verdict = judge(CREATED, seen);
      expect(verdict.ok).to.equal(false);
      expect(verdict.text).to.contain(says);
    });
  }

  it("passes a refusal as stated, with the API server's reason the provisioner hides", () => {
    const verdict = judge(CLASH, clash);
    expect(verdict.ok).to.equal(true);
    expect(verdict.text).to.equal(
      'refused as expected: {"detail":"Pod creation failed: Unprocessable Entity"}; the API server says: Pod "sandbox-sb-1" is invalid: ... "/mnt/skills/custom": must be unique',
    );
    expect(judge(DUPLICATE, refusedAlone(400, '{"detail":"Duplicate extra mount path: /mnt/acp-workspace"}')).ok).to.equal(true);
    expect(judge(BAD_TEMPLATE, refusedAlone(500, 'Internal Server Error', "Traceback ...\nKeyError: 'tenant'\n")).ok).to.equal(true);
  });

  const notRefused: ReadonlyArray<[string, Observation, string]> = [
    ['another status', { ...clash, status: 422 }, 'expected HTTP 500, got 422'],
    ['another answer', { ...clash, body: '{"detail":"Pod creation failed: Forbidden"}' }, 'expected "Pod creation failed: Unprocessable Entity" in the answer'],
    ['a Pod stored all the same', { ...clash, stored: POD }, 'a Pod was stored'],
    ['the model admitted', { ...clash, model: { kind: 'admitted', pod: POD } }, "expected the model's Pod refused with 422"],
    ['the model refused for another reason', { ...clash, model: { kind: 'refused', code: 422, message: 'something else' } }, "expected the model's Pod refused with 422"],
    ['the model refused with another code', { ...clash, model: { kind: 'refused', code: 403, message: 'must be unique' } }, "expected the model's Pod refused with 422"],
  ];
  for (const [name, seen, says] of notRefused) {
    it(`fails an expected refusal with ${name}`, () => {
      const verdict = judge(CLASH, seen);
      expect(verdict.ok).to.equal(false);
      expect(verdict.text).to.contain(says);
    });
  }

  const notRefusedAlone: ReadonlyArray<[string, Expected, Observation, string]> = [
    ['mountgate judged a Pod of the sandbox', DUPLICATE, { ...refusedAlone(400, 'Duplicate extra mount path'), decisions: { validateAllowed: 0, all: 1 } }, 'mountgate judged its Pod 1 time(s)'],
    ['a generic 500 for another reason', BAD_TEMPLATE, refusedAlone(500, 'Internal Server Error', 'Traceback ...\nApiException: (403)\n'), `expected "KeyError: 'tenant'" in the provisioner's log`],
  ];
  for (const [name, expected, seen, says] of notRefusedAlone) {
    it(`fails a refusal the provisioner was to make alone when ${name}`, () => {
      const verdict = judge(expected, seen);
      expect(verdict.ok).to.equal(false);
      expect(verdict.text).to.contain(says);
    });
  }

  it("counts mountgate's decisions on one Pod, leaving out dry runs, other Pods and other lines", () => {
    const line = (fields: Record<string, unknown>): string => JSON.stringify({ level: 30, msg: 'admission decision', endpoint: 'validate', verdict: 'allowed', dryRun: false, pod: 'sandbox-a', ...fields });
    const log = [
      line({}),
      line({ endpoint: 'mutate' }),
      line({ dryRun: true }),
      line({ pod: 'sandbox-b' }),
      line({ verdict: 'denied' }),
      JSON.stringify({ level: 40, msg: 'request refused', pod: 'sandbox-a', dryRun: false }),
      'not JSON',
      '{"cut short',
    ];
    expect(decisionsOn(log, 'sandbox-a')).to.deep.equal({ validateAllowed: 1, all: 3 });
    expect(decisionsOn(log, 'sandbox-c')).to.deep.equal({ validateAllowed: 0, all: 0 });
  });

  it('sends the model only when the expectation needs it', () => {
    expect(needsModel(CREATED)).to.equal(true);
    expect(needsModel(CLASH)).to.equal(true);
    expect(needsModel(DUPLICATE)).to.equal(false);
  });

  it('writes one line per request and a summary that counts and names what went otherwise', () => {
    const plain: Result = { setting: 'hostpath', request: 'plain', expected: CREATED, status: 200, verdict: judge(CREATED, created) };
    const gateway: Result = { setting: 'hostpath', request: 'gateway', expected: CLASH, status: 500, verdict: judge(CLASH, clash) };
    const broker: Result = { setting: 'lark-b', request: 'gateway-broker', expected: CREATED, status: 200, verdict: judge(CREATED, { ...created, stored: OTHER_POD }) };
    expect(resultLine(plain)).to.match(/^hostpath +plain +HTTP 200 +same as the model$/);
    expect(resultLine(broker)).to.match(/^lark-b +gateway-broker +HTTP 200 +UNEXPECTED: differs from the model in 2 field\(s\)/);
    expect(resultLine({ ...plain, status: 0 })).to.contain(' no answer ');
    expect(summaryLines([plain, gateway, broker])).to.deep.equal([
      '3 requests in 2 settings: 2 as expected (1 Pods same as the model, 1 refusals as expected), 1 not',
      'not as expected: lark-b/gateway-broker',
    ]);
  });

  it('shortens long answers to one line', () => {
    const verdict = judge(DUPLICATE, refusedAlone(500, `line one\nline two ${'x'.repeat(1000)}`));
    expect(verdict.text).not.to.contain('\n');
    expect(verdict.text.length).to.be.lessThan(700);
  });
});
