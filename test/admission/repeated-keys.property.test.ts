/**
 * An annotation entry that gives a key twice is refused (JSON.parse would keep the last value silently).
 * repeatedKeys reads the whole text to find such keys; mayRepeatKeys spares that read when it can tell from a
 * count that no entry repeats a key. Here annotations are written from entries whose repeated keys are known:
 * keys escaped or not, strings holding key names, quotes, braces and commas, and objects nested in values
 * that give the same key again (which is no repeat of the entry's). repeatedKeys finds exactly the repeats, and
 * mayRepeatKeys never answers false where there is one.
 */
import { expect } from 'chai';
import fc from 'fast-check';
import { mayRepeatKeys, repeatedKeys } from '../../src/admission/annotation.js';

const RUNS = Number(process.env.MOUNTGATE_FUZZ_RUNS ?? 2000);

const KEY_NAMES = ['hostPath', 'host_path', 'mountPath', 'container_path', 'readOnly', 'read_only', 'x'];

/** A key as the text writes it: plain, or with one character escaped (read the same by JSON). */
const writtenKey = fc.tuple(fc.constantFrom(...KEY_NAMES), fc.boolean(), fc.nat()).map(([name, escaped, at]) => {
  if (!escaped) return { name, text: JSON.stringify(name) };
  const i = at % name.length;
  const code = name.charCodeAt(i).toString(16).padStart(4, '0');
  return { name, text: `"${name.slice(0, i)}\\u${code}${name.slice(i + 1)}"` };
});

const stringValue = fc.oneof(
  fc.constantFrom(...KEY_NAMES, '"hostPath"', 'a,"b":{', '\\', '}', ']', '/srv/sandbox/a'),
  fc.string({ maxLength: 8 }),
);

type Written = string;
const value: fc.Arbitrary<Written> = fc.letrec<{ value: Written; object: Written }>((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    stringValue.map((text) => JSON.stringify(text)),
    fc.constantFrom('true', 'false', 'null', '7'),
    tie('object'),
    fc.array(tie('value'), { maxLength: 3 }).map((items) => `[${items.join(',')}]`),
  ),
  object: fc.array(fc.tuple(writtenKey, tie('value')), { maxLength: 3 }).map((pairs) => `{${pairs.map(([key, inner]) => `${key.text}:${inner}`).join(',')}}`),
})).value;

/** An entry: its pairs, and the keys it gives more than once as JSON reads them. */
const entry = fc.array(fc.tuple(writtenKey, value), { maxLength: 5 }).map((pairs) => {
  const seen = new Set<string>();
  const repeated = new Set<string>();
  for (const [key] of pairs) (seen.has(key.name) ? repeated : seen).add(key.name);
  return { text: `{${pairs.map(([key, inner]) => `${key.text}:${inner}`).join(', ')}}`, repeated };
});

const annotation = fc.array(fc.oneof({ weight: 6, arbitrary: entry }, { weight: 1, arbitrary: value.filter((text) => !text.startsWith('{')).map((text) => ({ text, repeated: new Set<string>() })) }), { maxLength: 4 });

describe('repeated keys in annotation entries (property)', function () {
  it('repeatedKeys finds exactly the keys each entry gives twice, and mayRepeatKeys never misses one', function () {
    fc.assert(
      fc.property(annotation, (entries) => {
        const text = `[${entries.map((written) => written.text).join(',')}]`;
        const parsed: unknown = JSON.parse(text);
        if (!Array.isArray(parsed)) throw new Error(`${text} is not an array`);
        const expected = new Map<number, string[]>();
        entries.forEach((written, index) => {
          if (written.repeated.size > 0) expected.set(index, [...written.repeated].sort());
        });
        const found = new Map([...repeatedKeys(text)].map(([index, keys]) => [index, [...keys].sort()]));
        expect(found, text).to.deep.equal(expected);
        const knownRepeat = [...expected.values()].some((keys) => keys.some((key) => key !== 'x'));
        if (knownRepeat) expect(mayRepeatKeys(text, parsed), text).to.equal(true);
      }),
      { numRuns: RUNS },
    );
  });

  it('mayRepeatKeys spares the read of an annotation as clients write it', function () {
    const text = JSON.stringify([
      { hostPath: '/srv/sandbox/a', mountPath: '/mnt/a', readOnly: true },
      { host_path: '/srv/models', container_path: '/mnt/models', read_only: false },
    ]);
    const parsed: unknown = JSON.parse(text);
    expect(Array.isArray(parsed) && mayRepeatKeys(text, parsed)).to.equal(false);
  });
});
