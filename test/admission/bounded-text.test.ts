import { expect } from 'chai';
import { cutEnd, cutMiddle } from '../../src/admission/bounded-text.js';

const EMOJI = '😀';

describe('admission/bounded-text: cut to a length, with an ellipsis, never inside a surrogate pair', () => {
  const rows: ReadonlyArray<{ name: string; cut: (text: string, max: number) => string; text: string; max: number; expected: string }> = [
    { name: 'cutEnd: a text at the limit stays whole', cut: cutEnd, text: 'abcdefghij', max: 10, expected: 'abcdefghij' },
    { name: 'cutEnd: one over the limit', cut: cutEnd, text: 'abcdefghijk', max: 10, expected: 'abcdefghi…' },
    { name: 'cutEnd: a pair at the cut goes whole', cut: cutEnd, text: `abcdefgh${EMOJI}xyz`, max: 10, expected: 'abcdefgh…' },
    { name: 'cutEnd: a pair before the cut stays', cut: cutEnd, text: `abcdefg${EMOJI}xyz`, max: 10, expected: `abcdefg${EMOJI}…` },
    { name: 'cutMiddle: a text at the limit stays whole', cut: cutMiddle, text: 'abcdefghijklm', max: 13, expected: 'abcdefghijklm' },
    // 12 units of room: 9 from the start, 3 from the end.
    { name: 'cutMiddle: start and end kept, three to one', cut: cutMiddle, text: 'abcdefghijklmnopqrstuvwxyz', max: 13, expected: 'abcdefghi…xyz' },
    { name: 'cutMiddle: a pair at the end of the start goes whole', cut: cutMiddle, text: `abcdefgh${EMOJI}jklmnopqrstuvwxyz`, max: 13, expected: 'abcdefgh…xyz' },
    { name: 'cutMiddle: a pair split by the start of the end goes whole', cut: cutMiddle, text: `abcdefghijklmnopqrstuv${EMOJI}yz`, max: 13, expected: 'abcdefghi…yz' },
    { name: 'cutMiddle: a pair that starts the end stays', cut: cutMiddle, text: `abcdefghijklmnopqrstuvw${EMOJI}z`, max: 13, expected: `abcdefghi…${EMOJI}z` },
    { name: 'cutMiddle: a pair wholly inside the end stays', cut: cutMiddle, text: `abcdefghijklmnopqrstuvwx${EMOJI}`, max: 13, expected: `abcdefghi…x${EMOJI}` },
  ];
  for (const row of rows) {
    it(row.name, () => {
      const cut = row.cut(row.text, row.max);
      expect(cut).to.equal(row.expected);
      expect(cut.length).to.be.at.most(row.max);
    });
  }
});
