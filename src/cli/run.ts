/** The `mountgate` command: dispatch, help, exit codes and one-line errors. */
import { readFileSync } from 'node:fs';
import { PolicyError } from '../policy/load.js';
import { CertificateError } from '../server/tls-material.js';
import { ListenError } from '../server/listen.js';
import { KubeconfigError } from '../server/namespace-cache.js';
import { parseAuditArgs } from './audit-options.js';
import { backstopCommand } from './backstop.js';
import type { Io } from './check.js';
import { check } from './check.js';
import { commandUsage, findCommand, HELP, type CommandName } from './commands.js';
import { decodeManifest } from './kubectl-yaml.js';
import { parseOperands, parseOptions } from './options.js';
import { serve } from './serve.js';
import { ArgumentError, escapeControl, EXIT_OK, EXIT_USAGE, firstLine, HelpRequested, UsageError } from './usage.js';

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk)));
  // Only manifests are read from stdin: decoded as a file of them is.
  return decodeManifest(Buffer.concat(chunks));
}

const processIo: Io = {
  stdout: (text) => process.stdout.write(text),
  stderr: (text) => process.stderr.write(text),
  readStdin,
};

function version(): string {
  const manifest: unknown = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8'));
  return typeof manifest === 'object' && manifest !== null && 'version' in manifest ? String(manifest.version) : 'unknown';
}

/** One runner per command of the table: a command cannot be listed without one. */
const RUNNERS: Readonly<Record<CommandName, (argv: readonly string[], io: Io) => Promise<number>>> = {
  serve: (argv) => serve(argv, process.env),
  check: (argv, io) => check(argv, io),
  audit: async (argv, io) => {
    const settings = parseAuditArgs(argv);
    // Loaded only for this command: its Kubernetes client costs every `serve` some 70 MiB otherwise.
    return (await import('./audit.js')).audit(settings, io);
  },
  backstop: (argv, io) => backstopCommand(argv, io),
  version: async (argv, io) => {
    parseOptions('version', argv, {});
    io.stdout(`mountgate ${version()}\n`);
    return EXIT_OK;
  },
  help: async (argv, io) => {
    // -h/--help beside a command asks for the help `help COMMAND` gives anyway (as `git help COMMAND --help` does);
    // alone, `help --help` is help's own usage, as for any command. Other flags are mistakes.
    const { operands, help } = parseOperands('help', argv);
    const [topic, ...rest] = operands;
    if (topic === undefined && help) throw new HelpRequested('help');
    if (topic === undefined) {
      io.stdout(HELP);
      return EXIT_OK;
    }
    const command = findCommand(topic);
    if (command === undefined) throw new ArgumentError('help', `unknown command "${topic}"`);
    if (rest.length > 0) throw new ArgumentError('help', 'takes one command at most');
    io.stdout(commandUsage(command));
    return EXIT_OK;
  },
};

/** A Map, so that no argument can reach an inherited property. */
const ALIASES: ReadonlyMap<string, CommandName> = new Map([
  ['--help', 'help'],
  ['-h', 'help'],
  ['--version', 'version'],
]);

/** `io` is the process's own unless a test gives another; `serve` always logs to stdout. */
export async function run(argv: readonly string[], io: Io = processIo): Promise<number> {
  const [given, ...rest] = argv;
  const name = given === undefined ? undefined : (ALIASES.get(given) ?? given);
  const command = findCommand(name);
  try {
    if (command === undefined) {
      throw new UsageError(given === undefined ? 'a command is required' : `unknown command "${given}"`);
    }
    return await RUNNERS[command.name](rest, io);
  } catch (error) {
    return reportError(error, command === undefined, io);
  }
}

function reportError(error: unknown, noCommand: boolean, io: Io): number {
  if (error instanceof HelpRequested) {
    const command = findCommand(error.command);
    io.stdout(command === undefined ? HELP : commandUsage(command));
    return EXIT_OK;
  }
  if (error instanceof ArgumentError) {
    const command = findCommand(error.command);
    io.stderr(`mountgate: ${escapeControl(error.message)}\n\n${command === undefined ? HELP : commandUsage(command)}`);
    return EXIT_USAGE;
  }
  if (error instanceof UsageError) {
    io.stderr(`mountgate: ${escapeControl(error.message)}\n${noCommand ? `\n${HELP}` : ''}`);
    return EXIT_USAGE;
  }
  if (error instanceof PolicyError || error instanceof CertificateError || error instanceof KubeconfigError) {
    io.stderr(`mountgate: ${escapeControl(error.message)}\n`);
    return EXIT_USAGE;
  }
  if (error instanceof ListenError) {
    io.stderr(`mountgate: ${escapeControl(error.message)}\n`);
    return EXIT_USAGE;
  }
  // Anything else (a fault of mountgate's, a file it cannot write) is still one line and exit 2: never 1,
  // which says that a Pod is denied.
  io.stderr(`mountgate: unexpected error: ${escapeControl(firstLine(error))}\n`);
  return EXIT_USAGE;
}
