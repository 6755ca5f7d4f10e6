#!/usr/bin/env node
// The `llama-rerank` command: serve, rank, pull and doctor. Exit codes: 0 done, 1 failed, 2 usage error.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../../models/paths.js';
import { RerankError } from '../errors.js';
import { CommandError, HelpRequested, UsageError } from './args.js';
import { DOCTOR_USAGE, doctor } from './doctor.js';
import { printOut } from './output.js';
import { PULL_USAGE, pull } from './pull.js';
import { RANK_USAGE, rank } from './rank.js';
import { SERVE_USAGE, serve } from './serve.js';

const COMMANDS: Record<string, [(argv: string[]) => Promise<void>, string]> = {
  serve: [serve, SERVE_USAGE],
  rank: [rank, RANK_USAGE],
  pull: [pull, PULL_USAGE],
  doctor: [doctor, DOCTOR_USAGE],
};

const USAGE = `Usage: llama-rerank <command> [options]   (llama-rerank <command> --help for its options)

  serve --model M [--host H] [--port P]   the hosted rerank API (POST /v1/rerank) over HTTP
  rank --model M --query Q [FILE ...]     rank documents from files or stdin
  pull [NAME ...]                         download known models into the cache (no NAME: list them)
  doctor [--json]                         the backends and devices found, and which one is used`;

async function main(argv: string[]): Promise<void> {
  const [command, ...rest] = argv;
  if (command === '--version' || command === '-v') {
    return printOut(JSON.parse(readFileSync(join(packageRoot, 'package.json'), 'utf8')).version);
  }
  if (command === undefined || command === '--help' || command === '-h' || command === 'help') {
    return printOut(USAGE);
  }
  const entry = COMMANDS[command];
  if (!entry) throw new UsageError(`unknown command "${command}"\n\n${USAGE}`);
  try {
    await entry[0](rest);
  } catch (err) {
    if (err instanceof HelpRequested) return printOut(entry[1]);
    if (err instanceof UsageError && err.showUsage) err.message += `\n\n${entry[1]}`;
    throw err;
  }
}

main(process.argv.slice(2)).catch((err: unknown) => {
  if (err instanceof UsageError) {
    console.error(`llama-rerank: ${err.message}`);
    process.exitCode = 2;
  } else if (err instanceof CommandError) {
    console.error(`llama-rerank: ${err.message}`);
    process.exitCode = 1;
  } else if (err instanceof RerankError) {
    console.error(`llama-rerank: ${err.code}: ${err.message}`);
    process.exitCode = 1;
  } else {
    console.error(err);
    process.exitCode = 1;
  }
});
