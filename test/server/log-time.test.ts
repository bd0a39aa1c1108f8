import { expect } from 'chai';
import fc from 'fast-check';
import { isoLogTime } from '../../src/server/log-time.js';

/** What pino's stdTimeFunctions.isoTime writes for the same instant. */
function pinoIsoTime(millis: number): string {
  return `,"time":"${new Date(millis).toISOString()}"`;
}

// From 1900 to 2200: negative instants and leap seconds' neighbours included.
const instant = fc.integer({ min: -2_208_988_800_000, max: 7_258_118_400_000 });

describe('server: the log time', () => {
  const rows: ReadonlyArray<readonly [string, number]> = [
    ['the epoch', 0],
    ['one millisecond in', 1],
    ['the last millisecond of a second', 999],
    ['ten milliseconds in', 1_010],
    ['a hundred milliseconds in', 1_100],
    ['just before the epoch', -1],
    ['a whole second before the epoch', -1_000],
    ['the end of a leap year', Date.UTC(2024, 11, 31, 23, 59, 59, 999)],
    ['a fraction of a millisecond', 1_001.75],
    ['a fraction of a millisecond before the epoch', -0.5],
  ];
  for (const [name, millis] of rows) {
    it(`writes what isoTime writes: ${name}`, () => {
      expect(isoLogTime(() => millis)()).to.equal(pinoIsoTime(millis));
    });
  }

  it('writes what isoTime writes for any sequence of instants read by one formatter', () => {
    fc.assert(
      fc.property(fc.array(fc.oneof(instant, fc.integer({ min: 0, max: 2_500 })), { minLength: 1, maxLength: 40 }), (instants) => {
        let index = 0;
        const time = isoLogTime(() => instants[index] ?? Number.NaN);
        for (; index < instants.length; index++) expect(time()).to.equal(pinoIsoTime(instants[index] ?? Number.NaN));
      }),
    );
  });

  it('reuses the second it formatted only within that second', () => {
    let now = Date.UTC(2026, 11, 5, 8, 0, 0, 998);
    const time = isoLogTime(() => now);
    expect(time()).to.equal(',"time":"2026-12-05T08:00:00.998Z"');
    now += 1;
    expect(time()).to.equal(',"time":"2026-12-05T08:00:00.999Z"');
    now += 1;
    expect(time()).to.equal(',"time":"2026-12-05T08:00:01.000Z"');
    now -= 2_000;
    expect(time()).to.equal(',"time":"2026-12-05T07:59:59.000Z"');
  });
});
