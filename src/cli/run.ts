/** The `mountgate` command: dispatch, exit codes and one-line errors. */
import { readFileSync } from 'node:fs';
import { PolicyError } from '../policy/load.js';
import { CertificateError } from '../server/tls-material.js';
import { KubeconfigError } from '../server/namespace-cache.js';
import { check } from './check.js';
import { serve } from './serve.js';
import { EXIT_OK, EXIT_USAGE, HELP, UsageError } from './usage.js';

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(Buffer.isBuffer(chunk) ? chunk : Buffer.from(String(chunk)));
  return Buffer.concat(chunks).toString('utf8');
}

function version(): string {
  const manifest: unknown = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8'));
  return typeof manifest === 'object' && manifest !== null && 'version' in manifest ? String(manifest.version) : 'unknown';
}

export async function run(argv: readonly string[]): Promise<number> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case 'serve':
        return await serve(rest, process.env);
      case 'check':
        return await check(rest, {
          stdout: (text) => process.stdout.write(text),
          stderr: (text) => process.stderr.write(text),
          readStdin,
        });
      case 'audit':
        // Loaded only for this command: its Kubernetes client costs every `serve` some 70 MiB otherwise.
        return await (await import('./audit.js')).audit(rest, {
          stdout: (text) => process.stdout.write(text),
          stderr: (text) => process.stderr.write(text),
          readStdin,
        });
      case 'backstop':
        return await (await import('./backstop.js')).backstopCommand(rest, { stdout: (text) => process.stdout.write(text) });
      case 'version':
      case '--version':
        process.stdout.write(`mountgate ${version()}\n`);
        return EXIT_OK;
      case 'help':
      case '--help':
      case '-h':
        process.stdout.write(HELP);
        return EXIT_OK;
      default:
        throw new UsageError(command === undefined ? 'a command is required' : `unknown command "${command}"`);
    }
  } catch (error) {
    if (error instanceof UsageError) {
      process.stderr.write(`mountgate: ${error.message}\n${command === 'serve' || command === 'check' || command === 'audit' || command === 'backstop' ? '' : HELP}`);
      return EXIT_USAGE;
    }
    if (error instanceof PolicyError || error instanceof CertificateError || error instanceof KubeconfigError) {
      process.stderr.write(`mountgate: ${error.message}\n`);
      return EXIT_USAGE;
    }
    if (error instanceof Error && 'code' in error && (error.code === 'EADDRINUSE' || error.code === 'EACCES' || error.code === 'EADDRNOTAVAIL')) {
      process.stderr.write(`mountgate: cannot listen: ${error.message}\n`);
      return EXIT_USAGE;
    }
    throw error;
  }
}

