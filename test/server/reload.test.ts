import { expect } from 'chai';
import { logPolicyWarnings } from '../../src/server/reload.js';
import { logSink } from '../helpers/log-sink.js';
import { policyOf } from '../helpers/policies.js';

describe('server: the policy warnings logged at load and reload', () => {
  const rows: ReadonlyArray<{ name: string; warningsOf: () => string[]; expected: unknown[]; err?: string }> = [
    { name: 'one warn line per warning, with the file', warningsOf: () => ['first', 'second'], expected: [[40, 'policy warning', 'first'], [40, 'policy warning', 'second']] },
    { name: 'nothing for a policy without warnings', warningsOf: () => [], expected: [] },
    {
      name: 'a search that fails is one error line saying the policy is in force, never a throw',
      warningsOf: () => {
        throw new Error('search broke');
      },
      expected: [[50, 'the policy is in force, but its warnings could not be worked out', undefined]],
      err: 'Error: search broke',
    },
  ];
  for (const row of rows) {
    it(row.name, () => {
      const { lines, logger } = logSink();
      logPolicyWarnings(policyOf(), '/etc/mountgate/policy.yaml', logger, row.warningsOf);
      expect(lines.map((line) => [line['level'], line['msg'], line['warning']])).to.deep.equal(row.expected);
      expect(lines.every((line) => line['file'] === '/etc/mountgate/policy.yaml')).to.equal(true);
      expect(lines.map((line) => line['err'])).to.deep.equal(row.expected.map(() => row.err));
    });
  }
});
