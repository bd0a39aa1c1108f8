import { readFileSync } from 'node:fs';
import { expect } from 'chai';
import { runtimeEnvironment, runtimeNodeFlags } from '../../bench/processes.js';

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

describe("bench: node's flags read from the Dockerfile's ENTRYPOINT", () => {
  const rows: ReadonlyArray<{ name: string; dockerfile: string; want: readonly string[] }> = [
    { name: 'no flags', dockerfile: 'FROM b\nENTRYPOINT ["node", "dist/cli/main.js"]\n', want: [] },
    { name: 'flags between node and the script', dockerfile: 'FROM b\nENTRYPOINT ["node", "--a", "--b=1", "dist/cli/main.js"]\nCMD ["serve"]\n', want: ['--a', '--b=1'] },
    { name: 'only the last stage counts', dockerfile: 'FROM a\nENTRYPOINT ["node", "--x", "dist/cli/main.js"]\nFROM b\nENTRYPOINT ["node", "dist/cli/main.js"]\n', want: [] },
    { name: 'no ENTRYPOINT', dockerfile: 'FROM b\nUSER 1\n', want: [] },
  ];
  for (const row of rows) {
    it(row.name, () => expect(runtimeNodeFlags(row.dockerfile)).to.deep.equal(row.want));
  }

  for (const [name, dockerfile] of [
    ['a shell-form ENTRYPOINT', 'FROM b\nENTRYPOINT node --a dist/cli/main.js\n'],
    ['an ENTRYPOINT that runs something else', 'FROM b\nENTRYPOINT ["/bin/sh", "-c", "node dist/cli/main.js"]\n'],
    ['an ENTRYPOINT without the script', 'FROM b\nENTRYPOINT ["node", "--a"]\n'],
  ] as const) {
    it(`refuses ${name}: the benchmark would not start mountgate as the image does`, () => {
      expect(() => runtimeNodeFlags(dockerfile)).to.throw(/ENTRYPOINT/);
    });
  }

  it("the project's Dockerfile: the flags the benchmark gives node", () => {
    expect(runtimeNodeFlags(readFileSync(new URL('../../Dockerfile', import.meta.url), 'utf8'))).to.deep.equal([]);
  });
});
