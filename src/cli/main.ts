#!/usr/bin/env node
/** The entry point of the `mountgate` binary. */
import { run } from './run.js';
import { EXIT_USAGE, firstLine } from './usage.js';

// A reader that goes away (`mountgate check ... | true`) is no failure: the exit code stays the one the
// command gave. Any other write error (a full disk) lost output: exit 2, never 1, which means "denied".
let outputLost = false;
for (const [name, stream] of [['stdout', process.stdout], ['stderr', process.stderr]] as const) {
  stream.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') return;
    outputLost = true;
    process.exitCode = EXIT_USAGE;
    if (stream !== process.stderr) process.stderr.write(`mountgate: cannot write to ${name}: ${firstLine(error)}\n`);
  });
}

const code = await run(process.argv.slice(2));
process.exitCode = outputLost ? EXIT_USAGE : code;
