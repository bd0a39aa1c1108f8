#!/usr/bin/env node
/** The entry point of the `mountgate` binary. */
import { run } from './run.js';

process.exitCode = await run(process.argv.slice(2));
