import { expect } from 'chai';
import { answerIsRight, outcomeOf, parseResultLine, parseTimestamp, VegetaClosedTally, VegetaTally, type ExpectedAnswer } from '../../bench/load/vegeta-results.js';

const UID = '3f1c-uid';
const MUTATE: ExpectedAnswer = { uid: UID, patch: true };
const VALIDATE: ExpectedAnswer = { uid: UID, patch: false };

const body = (response: Record<string, unknown>): string =>
  Buffer.from(JSON.stringify({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', response })).toString('base64');
const patched = body({ uid: UID, allowed: true, patchType: 'JSONPatch', patch: 'W3sib3AiOiJhZGQifV0=' });
const plain = body({ uid: UID, allowed: true });

/** One line of `vegeta encode -to json`; `startedNs` is after 2026-12-05T06:00:00Z. */
function line(fields: { seq: number; startedNs: number; latencyNs: number; code?: number; error?: string; body?: string | null }): string {
  const seconds = Math.floor(fields.startedNs / 1e9);
  const nanos = String(fields.startedNs % 1e9).padStart(9, '0');
  return JSON.stringify({
    attack: '',
    seq: fields.seq,
    code: fields.code ?? 200,
    timestamp: `2026-12-05T06:00:${String(seconds).padStart(2, '0')}.${nanos}Z`,
    latency: fields.latencyNs,
    bytes_out: 10,
    bytes_in: 10,
    error: fields.error ?? '',
    body: fields.body === undefined ? patched : fields.body,
    method: 'POST',
    url: 'https://127.0.0.1:1/mutate',
    headers: null,
  });
}

describe('bench/load/vegeta-results', () => {
  describe('parseTimestamp', () => {
    const epoch = Date.parse('2026-12-05T06:00:00Z') / 1000;
    const rows: Array<[string, string, { seconds: number; nanos: number } | 'throws']> = [
      ['UTC with nanoseconds', '2026-12-05T06:00:00.123456789Z', { seconds: epoch, nanos: 123_456_789 }],
      ['a zone offset', '2026-12-05T08:00:01.5+02:00', { seconds: epoch + 1, nanos: 500_000_000 }],
      ['no fraction', '2026-12-05T06:00:02Z', { seconds: epoch + 2, nanos: 0 }],
      ['no zone', '2026-12-05T06:00:00.1', 'throws'],
      ['not a time', 'yesterday', 'throws'],
    ];
    for (const [name, text, want] of rows) {
      it(name, () => {
        if (want === 'throws') expect(() => parseTimestamp(text)).to.throw(/RFC 3339/);
        else expect(parseTimestamp(text)).to.deep.equal(want);
      });
    }
  });

  describe('answerIsRight', () => {
    const rows: Array<[string, string | null, ExpectedAnswer, boolean]> = [
      ['/mutate: allowed with a JSON patch', patched, MUTATE, true],
      ['/mutate: allowed without a patch', plain, MUTATE, false],
      ['/validate: allowed without a patch', plain, VALIDATE, true],
      ['/validate: allowed with a patch', patched, VALIDATE, false],
      ['denied', body({ uid: UID, allowed: false, status: { message: 'no' } }), VALIDATE, false],
      ['allowed as a string', body({ uid: UID, allowed: 'true' }), VALIDATE, false],
      ['another uid', body({ uid: 'other', allowed: true }), VALIDATE, false],
      ['a patch of another type', body({ uid: UID, allowed: true, patchType: 'Merge', patch: 'e30=' }), MUTATE, false],
      ['an empty patch', body({ uid: UID, allowed: true, patchType: 'JSONPatch', patch: '' }), MUTATE, false],
      ['no response', Buffer.from('{"kind":"AdmissionReview"}').toString('base64'), VALIDATE, false],
      ['not JSON', Buffer.from('<html>').toString('base64'), VALIDATE, false],
      ['no body', null, VALIDATE, false],
    ];
    for (const [name, answer, expected, right] of rows) {
      it(name, () => expect(answerIsRight(answer, expected)).to.equal(right));
    }
  });

  describe('outcomeOf', () => {
    const rows: Array<[string, Parameters<typeof line>[0], string]> = [
      ['a right answer', { seq: 0, startedNs: 0, latencyNs: 1 }, 'ok'],
      ['a wrong answer', { seq: 0, startedNs: 0, latencyNs: 1, body: plain }, 'mismatch'],
      ['a non-2xx status', { seq: 0, startedNs: 0, latencyNs: 1, code: 500, error: '500 Internal Server Error' }, 'non2xx'],
      ['a timeout', { seq: 0, startedNs: 0, latencyNs: 1, code: 0, error: 'context deadline exceeded (Client.Timeout exceeded while awaiting headers)', body: null }, 'timeout'],
      ['a connection error', { seq: 0, startedNs: 0, latencyNs: 1, code: 0, error: 'x509: certificate signed by unknown authority', body: null }, 'error'],
      ['a 2xx with an error reading the body', { seq: 0, startedNs: 0, latencyNs: 1, error: 'unexpected EOF' }, 'error'],
    ];
    for (const [name, fields, want] of rows) {
      it(name, () => expect(outcomeOf(parseResultLine(line(fields)), MUTATE)).to.equal(want));
    }
  });

  describe('parseResultLine', () => {
    const rows: Array<[string, string]> = [
      ['not JSON', 'nope'],
      ['no timestamp', JSON.stringify({ seq: 0, code: 200, latency: 1, error: '', body: null })],
      ['a negative latency', line({ seq: 0, startedNs: 0, latencyNs: -1 })],
      ['a code as a string', line({ seq: 0, startedNs: 0, latencyNs: 1 }).replace('"code":200', '"code":"200"')],
    ];
    for (const [name, text] of rows) {
      it(`rejects ${name}`, () => expect(() => parseResultLine(text)).to.throw());
    }
  });

  describe('VegetaClosedTally (as fast as the workers go, a new connection each)', () => {
    // Four requests 2 ms apart from 5 s on, each taking 3 ms; the lead-in is the first 3 ms.
    const closed = (bodies: ReadonlyArray<string | undefined>): ReturnType<VegetaClosedTally['result']> => {
      const tally = new VegetaClosedTally({ leadInMs: 3, expected: MUTATE, capacity: 100 });
      bodies.forEach((body, seq) => tally.add(parseResultLine(line({ seq, startedNs: 5e9 + seq * 2e6, latencyNs: 3e6, ...(body === undefined ? {} : { body }) }))));
      return tally.result(40);
    };

    it('times the requests started after the lead-in, over the window from its end to the last answer', () => {
      const result = closed([undefined, undefined, undefined, undefined]);
      expect(result.latency.count).to.equal(2);
      expect(result.requests).to.equal(2);
      // Measured from 3 ms (the lead-in's end) to 9 ms (the last answer): 6 ms for 2 answers.
      expect(result.seconds).to.be.closeTo(0.006, 1e-9);
      expect(result.requestsPerSecond).to.be.closeTo(2 / 0.006, 1e-6);
      expect(result.clientCpuPercent).to.equal(40);
      expect(result).not.to.have.property('startLag');
      // The server's CPU covers the lead-in too: all four answers, from the first start (0 ms) to the last answer (9 ms).
      expect(result.wholeAttack?.requests).to.equal(4);
      expect(result.wholeAttack?.seconds).to.be.closeTo(0.009, 1e-9);
    });

    it('counts a wrong answer in the lead-in and one timed, and times only right ones', () => {
      const result = closed([plain, undefined, plain, undefined]);
      expect(result.mismatches).to.equal(2);
      expect(result.latency.count).to.equal(1);
    });

    it('gives zeros, not NaN, without results', () => {
      const result = new VegetaClosedTally({ leadInMs: 500, expected: MUTATE, capacity: 10 }).result(0);
      expect([result.requestsPerSecond, result.latency.count]).to.deep.equal([0, 0]);
    });
  });

  describe('VegetaTally', () => {
    // 1,000 req/s: request n is due (n + 1) ms after the start; here it starts `lagMs` later.
    const scenario = (rows: ReadonlyArray<{ lagMs: number; latencyMs: number; body?: string }>): ReturnType<VegetaTally['result']> => {
      const tally = new VegetaTally({ rate: 1000, firstMeasuredSeq: 2, expected: MUTATE, capacity: 100 });
      const beganNs = 5e9;
      rows.forEach((row, seq) =>
        tally.add(parseResultLine(line({ seq, startedNs: beganNs + (seq + 1) * 1e6 + row.lagMs * 1e6, latencyNs: row.latencyMs * 1e6, ...(row.body === undefined ? {} : { body: row.body }) }))),
      );
      return tally.result(25);
    };

    it('times from the start, and keeps the lag and the time from the due moment apart', () => {
      const result = scenario([
        { lagMs: 0, latencyMs: 0.2 },
        { lagMs: 0.5, latencyMs: 0.2 },
        { lagMs: 0.25, latencyMs: 0.3 },
        { lagMs: 0.75, latencyMs: 0.4 },
        { lagMs: 0.5, latencyMs: 0.5 },
      ]);
      expect(result.latency.count).to.equal(3);
      expect(result.latency.max).to.be.closeTo(0.5, 1e-6);
      expect(result.startLag.max).to.be.closeTo(0.75, 1e-6);
      expect(result.fromDue.max).to.be.closeTo(1.15, 1e-6);
      expect(result.clientCpuPercent).to.equal(25);
    });

    it('counts wrong answers in the lead-in too, and times only right ones', () => {
      const result = scenario([
        { lagMs: 0, latencyMs: 0.2, body: plain },
        { lagMs: 0, latencyMs: 0.2 },
        { lagMs: 0, latencyMs: 0.2, body: plain },
        { lagMs: 0, latencyMs: 0.3 },
      ]);
      expect(result.mismatches).to.equal(2);
      expect(result.requests).to.equal(2);
      expect(result.latency.count).to.equal(1);
    });

    it('takes the start from the least late request: a constant lag is not seen', () => {
      const result = scenario([0, 1, 2, 3].map(() => ({ lagMs: 0.3, latencyMs: 0.2 })));
      expect(result.startLag.max).to.be.closeTo(0, 1e-6);
    });

    it('gives zeros, not NaN, without results', () => {
      const result = new VegetaTally({ rate: 1000, firstMeasuredSeq: 0, expected: MUTATE, capacity: 10 }).result(0);
      expect(result.requestsPerSecond).to.equal(0);
      expect(result.latency.count).to.equal(0);
    });

    it('keeps at most `capacity` results and counts the rest as errors (closed loop too)', () => {
      const closed = new VegetaClosedTally({ leadInMs: 0, expected: MUTATE, capacity: 2 });
      for (let seq = 0; seq < 5; seq++) closed.add(parseResultLine(line({ seq, startedNs: (seq + 1) * 1e6, latencyNs: 1e5 })));
      expect([closed.result(0).latency.count, closed.result(0).errors]).to.deep.equal([2, 3]);
    });

    it('keeps at most `capacity` results and counts the rest as errors', () => {
      const tally = new VegetaTally({ rate: 1000, firstMeasuredSeq: 0, expected: MUTATE, capacity: 2 });
      for (let seq = 0; seq < 5; seq++) tally.add(parseResultLine(line({ seq, startedNs: (seq + 1) * 1e6, latencyNs: 1e5 })));
      const result = tally.result(0);
      expect(result.latency.count).to.equal(2);
      expect(result.errors).to.equal(3);
    });
  });
});
