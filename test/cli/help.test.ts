import { expect } from 'chai';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { COMMANDS, HELP, type Command } from '../../src/cli/commands.js';
import { run } from '../../src/cli/run.js';
import { EXIT_OK, EXIT_USAGE } from '../../src/cli/usage.js';
import { captured, usageOf, type Outcome } from '../helpers/cli.js';

function mountgate(argv: readonly string[]): Promise<Outcome> {
  return captured(run, argv);
}

describe('cli: --help and usage', () => {
  describe('every command prints its usage on stdout and exits 0', () => {
    /** A flag with a value before --help, where the command takes one: help wins over what is missing. */
    const withAFlag = (command: Command): string[] => {
      const flag = Object.entries(command.options).find(([, spec]) => spec.type === 'string');
      return flag === undefined ? [command.name, '--help'] : [command.name, `--${flag[0]}`, 'x', '--help'];
    };
    const asks: Array<[string, (command: Command) => string[]]> = [
      ['--help', (command) => [command.name, '--help']],
      ['-h', (command) => [command.name, '-h']],
      ['--help after a flag', withAFlag],
      ['help COMMAND', (command) => ['help', command.name]],
      // As `git help COMMAND --help` does: the help asked for either way.
      ['help COMMAND --help', (command) => ['help', command.name, '--help']],
      ['help COMMAND -h', (command) => ['help', command.name, '-h']],
      ['help --help COMMAND', (command) => ['help', '--help', command.name]],
    ];
    for (const command of COMMANDS) {
      for (const [how, argv] of asks) {
        it(`${command.name}: ${how}`, async () => {
          expect(await mountgate(argv(command))).to.deep.equal({ code: EXIT_OK, stdout: usageOf(command.name), stderr: '' });
        });
      }
    }
  });

  describe('the overview on stdout, exit 0', () => {
    const rows: Array<[string, string[]]> = [
      ['mountgate --help', ['--help']],
      ['mountgate -h', ['-h']],
      ['mountgate help', ['help']],
    ];
    for (const [name, argv] of rows) {
      it(name, async () => expect(await mountgate(argv)).to.deep.equal({ code: EXIT_OK, stdout: HELP, stderr: '' }));
    }
  });

  describe("help's own usage on stdout, exit 0, as for any COMMAND --help", () => {
    const rows: Array<[string, string[]]> = [
      ['mountgate help --help', ['help', '--help']],
      ['mountgate help -h', ['help', '-h']],
      ['mountgate help --help --help', ['help', '--help', '--help']],
      ['mountgate help help --help', ['help', 'help', '--help']],
    ];
    for (const [name, argv] of rows) {
      it(name, async () => expect(await mountgate(argv)).to.deep.equal({ code: EXIT_OK, stdout: usageOf('help'), stderr: '' }));
    }
  });

  describe('a wrong flag exits 2 with the message and the usage on stderr', () => {
    for (const command of COMMANDS) {
      it(`${command.name}: an unknown flag`, async () => {
        expect(await mountgate([command.name, '--no-such-flag'])).to.deep.equal({
          code: EXIT_USAGE,
          stdout: '',
          stderr: `mountgate: ${command.name}: Unknown option '--no-such-flag'\n\n${usageOf(command.name)}`,
        });
      });
    }
    // An empty value is no value: `--config ""` used to be read as a file named "".
    for (const command of COMMANDS) {
      for (const [flag, spec] of Object.entries(command.options)) {
        if (spec.type !== 'string') continue;
        const forms: Array<[string, string[]]> = [
          [`--${flag} ""`, [`--${flag}`, '']],
          [`--${flag}=`, [`--${flag}=`]],
          ...(spec.short === undefined ? [] : [[`-${spec.short} ""`, [`-${spec.short}`, '']] as [string, string[]]]),
          ...(spec.multiple === true ? [[`--${flag} x --${flag} ""`, [`--${flag}`, 'x', `--${flag}`, '']] as [string, string[]]] : []),
        ];
        for (const [form, argv] of forms) {
          it(`${command.name}: an empty value, ${form}`, async () => {
            expect(await mountgate([command.name, ...argv])).to.deep.equal({
              code: EXIT_USAGE,
              stdout: '',
              stderr: `mountgate: ${command.name}: --${flag} must not be empty\n\n${usageOf(command.name)}`,
            });
          });
        }
      }
    }
    const rows: Array<[string, string[], string, string]> = [
      ['a missing required flag', ['check', '-f', 'pod.yaml'], 'check', 'check: --config FILE is required'],
      ['a bad value', ['audit', '--config', 'p', '-o', 'xml'], 'audit', 'audit: -o must be table or json, not "xml"'],
      ['a bad value of a long flag', ['audit', '--config', 'p', '--output=xml'], 'audit', 'audit: --output must be table or json, not "xml"'],
      ['help for an unknown command', ['help', 'launch'], 'help', 'help: unknown command "launch"'],
      ['help for two commands', ['help', 'serve', 'check'], 'help', 'help: takes one command at most'],
      ['help for two commands, with --help', ['help', 'serve', 'check', '--help'], 'help', 'help: takes one command at most'],
      ['help for two commands, --help first', ['help', '--help', 'serve', 'check'], 'help', 'help: takes one command at most'],
      ['help for an unknown command, with --help', ['help', 'launch', '--help'], 'help', 'help: unknown command "launch"'],
      ['help with an unknown flag', ['help', 'serve', '--bogus'], 'help', "help: Unknown option '--bogus'"],
      ['help with an unknown flag before --help', ['help', '--bogus', '--help'], 'help', "help: Unknown option '--bogus'"],
    ];
    for (const [name, argv, command, message] of rows) {
      it(name, async () => {
        expect(await mountgate(argv)).to.deep.equal({ code: EXIT_USAGE, stdout: '', stderr: `mountgate: ${message}\n\n${usageOf(command)}` });
      });
    }
    // A value that begins with "-" is read as the next flag: the line names the flag, what came after it, and the form that works.
    const dashed: Array<[string, string[], string, string]> = [
      ['a negative port', ['serve', '--config', 'p', '--dev', '--port', '-1'], 'serve', 'serve: --port takes a value, but "-1" after it begins with "-" and is read as a flag (give such a value as --port=VALUE)'],
      ['a flag without its value', ['serve', '--config', 'p', '--dev', '--port', '--host', '127.0.0.1'], 'serve', 'serve: --port takes a value, but "--host" after it begins with "-" and is read as a flag (give such a value as --port=VALUE)'],
      ['a short flag', ['check', '--config', 'p', '-f', '-x'], 'check', 'check: -f takes a value, but "-x" after it begins with "-" and is read as a flag (give such a value as --file=VALUE)'],
      ['a username', ['check', '--config', 'p', '-f', 'pod.yaml', '--user', '-alice'], 'check', 'check: --user takes a value, but "-alice" after it begins with "-" and is read as a flag (give such a value as --user=VALUE)'],
      ['a short flag before another', ['audit', '--config', 'p', '-n', '-A'], 'audit', 'audit: -n takes a value, but "-A" after it begins with "-" and is read as a flag (give such a value as --namespace=VALUE)'],
      ['a repeatable flag', ['backstop', '--config', 'p', '--exclude-namespace', 'a', '--exclude-namespace', '-x'], 'backstop', 'backstop: --exclude-namespace takes a value, but "-x" after it begins with "-" and is read as a flag (give such a value as --exclude-namespace=VALUE)'],
      ['an unknown flag before it, named first', ['serve', '--bogus', '--port', '-1'], 'serve', "serve: Unknown option '--bogus'"],
    ];
    for (const [name, argv, command, message] of dashed) {
      it(`a value that begins with "-": ${name}`, async () => {
        expect(await mountgate(argv)).to.deep.equal({ code: EXIT_USAGE, stdout: '', stderr: `mountgate: ${message}\n\n${usageOf(command)}` });
      });
    }
  });

  describe('no command, or an unknown one, exits 2 with the overview on stderr', () => {
    const rows: Array<[string, string[], string]> = [
      ['no command', [], 'a command is required'],
      ['an unknown command', ['launch'], 'unknown command "launch"'],
      ['a name inherited by every object', ['constructor'], 'unknown command "constructor"'],
    ];
    for (const [name, argv, message] of rows) {
      it(name, async () => expect(await mountgate(argv)).to.deep.equal({ code: EXIT_USAGE, stdout: '', stderr: `mountgate: ${message}\n\n${HELP}` }));
    }
  });

  describe('what a usage says', () => {
    for (const command of COMMANDS) {
      it(`${command.name}: every flag of its table, with its short form, variable and default`, () => {
        const usage = usageOf(command.name);
        expect(usage).to.match(/^Usage: mountgate /);
        expect(usage).to.include('-h, --help');
        for (const [flag, spec] of Object.entries(command.options)) {
          const line = usage.split('\n').find((text) => text.includes(`--${flag}`) && text.includes(spec.description));
          expect(line, `--${flag}`).to.be.a('string');
          for (const part of [spec.short === undefined ? undefined : `-${spec.short}, `, spec.env, spec.fallback === undefined ? undefined : `default ${spec.fallback}`]) {
            if (part !== undefined) expect(line).to.include(part);
          }
        }
      });
    }
    it('every synopsis names every flag of its table', () => {
      for (const command of COMMANDS) {
        const synopsis = command.synopsis.join('\n');
        for (const [flag, spec] of Object.entries(command.options)) {
          const named = synopsis.includes(`--${flag}`) || (spec.short !== undefined && synopsis.includes(`-${spec.short} `));
          expect(named, `${command.name} --${flag}`).to.equal(true);
        }
      }
    });
    it('the overview names every command', () => {
      for (const command of COMMANDS) expect(HELP).to.match(new RegExp(`^  ${command.name} +${command.summary}$`, 'm'));
    });
    it('no table takes -h or --help for anything else', () => {
      for (const command of COMMANDS) {
        expect(Object.keys(command.options), command.name).not.to.include('help');
        expect(Object.values(command.options).map((spec) => spec.short), command.name).not.to.include('h');
      }
    });
  });

  it('the binary: `mountgate audit --help` exits 0 with the usage on stdout', async function () {
    this.timeout(60_000);
    const child = spawn(process.execPath, ['--import', 'tsx', join(process.cwd(), 'src/cli/main.ts'), 'audit', '--help'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const [code] = await once(child, 'exit');
    expect({ code, stdout, stderr }).to.deep.equal({ code: 0, stdout: usageOf('audit'), stderr: '' });
  });
});
