/**
 * Replays the fuzz corpus through the decision core and through the real
 * HTTPS server. Nothing may be admitted against the policy (the oracle checks
 * every admission), every pinned verdict must hold, the server must give the
 * core's answer and patch, and it must still be healthy afterwards.
 */
import { expect } from 'chai';
import type { Operation } from '../../src/admission/json-patch.js';
import { withServer } from '../helpers/server.js';
import { httpsCall } from '../helpers/tls.js';
import { loadCorpus, type CorpusCase } from './corpus.js';
import { judgeInCore, policySpec, type Judgement } from './replay.js';

const CASES = loadCorpus();

interface ServerAnswer {
  response?: { allowed?: boolean; patch?: string };
}

describe('fuzz corpus', function () {
  this.timeout(120_000);

  it('has cases from every file, with unique names', () => {
    const files = new Set(CASES.map((testCase) => testCase.file));
    expect([...files]).to.include.members([
      'control-characters.json',
      'hostile-pods.json',
      'lookalikes.json',
      'overlong.json',
      'path-rules.json',
      'percent-encoding.json',
      'prototype-pollution.json',
    ]);
    const names = CASES.map((testCase) => `${testCase.file}: ${testCase.name}`);
    expect(new Set(names).size).to.equal(names.length);
  });

  describe('through the decision core', () => {
    for (const testCase of CASES) {
      it(`${testCase.file}: ${testCase.name}`, () => {
        judgeInCore(testCase);
      });
    }
  });

  it('through the running server: the same verdicts and patches, and the server stays healthy', async () => {
    const byPolicy = new Map<string, CorpusCase[]>();
    for (const testCase of CASES) {
      const key = JSON.stringify(policySpec(testCase));
      byPolicy.set(key, [...(byPolicy.get(key) ?? []), testCase]);
    }
    let answered = 0;
    for (const [policy, cases] of byPolicy) {
      await withServer({ policy: JSON.parse(policy) }, async (test) => {
        for (const testCase of cases) {
          for (const judgement of judgeInCore(testCase)) {
            await expectSameAnswer(test.server.port, test.pki.caCert, testCase, judgement);
            answered++;
          }
        }
        const health = await httpsCall({ port: test.server.port, path: '/healthz', ca: test.pki.caCert });
        expect(health.status).to.equal(200);
      });
    }
    expect(answered).to.be.greaterThan(CASES.length);
  });
});

async function expectSameAnswer(port: number, ca: string, testCase: CorpusCase, judgement: Judgement): Promise<void> {
  const answer = await httpsCall({ port, ca, path: `/${judgement.stage}`, body: judgement.body });
  const where = `${testCase.file}: ${testCase.name}: /${judgement.stage}`;
  expect(answer.status, `${where}: ${answer.text.slice(0, 300)}`).to.equal(200);
  const parsed = JSON.parse(answer.text) as ServerAnswer;
  expect(parsed.response?.allowed, where).to.equal(judgement.allowed);
  const patch = parsed.response?.patch === undefined ? [] : (JSON.parse(Buffer.from(parsed.response.patch, 'base64').toString('utf8')) as Operation[]);
  expect(patch, where).to.deep.equal(judgement.patch);
}
