import { readFileSync } from 'node:fs';
import { expect } from 'chai';
import { runtimeEnvironment } from '../../bench/processes.js';

describe('bench: the image environment read from the Dockerfile', () => {
  const rows: ReadonlyArray<{ name: string; dockerfile: string; want: Record<string, string> }> = [
    {
      name: 'only the last stage counts',
      dockerfile: 'FROM a AS build\nENV NODE_ENV=development\nFROM b AS runtime\nENV NODE_ENV=production\n',
      want: { NODE_ENV: 'production' },
    },
    {
      name: 'continuation lines and quoted values with spaces and equals signs',
      dockerfile: 'FROM b\nENV NODE_ENV=production \\\n    NODE_OPTIONS="--a --b=8" \\\n    MALLOC_ARENA_MAX=2\nUSER 1\n',
      want: { NODE_ENV: 'production', NODE_OPTIONS: '--a --b=8', MALLOC_ARENA_MAX: '2' },
    },
    {
      name: 'several ENV instructions; comments and other instructions ignored',
      dockerfile: 'FROM b\n# ENV NOT_THIS=1\nENV A=1\nLABEL B=2\nENV C=3\n',
      want: { A: '1', C: '3' },
    },
    { name: 'no ENV at all', dockerfile: 'FROM b\nUSER 1\n', want: {} },
  ];
  for (const row of rows) {
    it(row.name, () => {
      expect(runtimeEnvironment(row.dockerfile)).to.deep.equal(row.want);
    });
  }

  it("the project's Dockerfile: what the benchmark starts mountgate with", () => {
    const environment = runtimeEnvironment(readFileSync(new URL('../../Dockerfile', import.meta.url), 'utf8'));
    expect(environment).to.deep.equal({
      NODE_ENV: 'production',
      NODE_OPTIONS: '--enable-source-maps --max-semi-space-size=8',
      MALLOC_ARENA_MAX: '2',
    });
  });
});
