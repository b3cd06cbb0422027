#!/usr/bin/env node
/**
 * mtpkit command line. Exit codes: 0 ok, 1 failure, 2 bad usage or bad input.
 * Every command accepts --json and then prints exactly one JSON document on stdout.
 */
import yargs from 'yargs';
import { EXIT_BAD_INPUT, InputError } from '../errors';
import { reportError } from './output';
import { commands } from './commands';

export async function main(argv: string[]): Promise<number> {
  let exitCode = 0;
  const json = argv.includes('--json');
  const parser = yargs(argv)
    .scriptName('mtpkit')
    .usage('$0 <command> [options]')
    .option('json', { type: 'boolean', default: false, describe: 'machine-readable output (one JSON document)' })
    .strict()
    .demandCommand(1, 'name a command (see --help)')
    .recommendCommands()
    .help()
    .alias('h', 'help')
    .version()
    .wrap(Math.min(110, process.stdout.columns || 100))
    .exitProcess(false)
    .fail((msg, err) => {
      // yargs re-wraps errors thrown by option coercion (bad --threads, ...) in a YError: bad usage.
      if (err && err.name !== 'YError') throw err;
      throw new UsageError(err?.message ?? msg);
    });
  for (const c of commands) parser.command(c);
  try {
    await parser.parseAsync();
    exitCode = process.exitCode === undefined ? 0 : Number(process.exitCode);
  } catch (err) {
    if (err instanceof UsageError) {
      if (json) reportError(new InputError(err.message), { json });
      else process.stderr.write(`mtpkit: ${err.message}\nRun 'mtpkit --help' for usage.\n`);
      return EXIT_BAD_INPUT;
    }
    return reportError(err, { json });
  }
  return exitCode;
}

class UsageError extends Error {}

if (require.main === module) {
  // `mtpkit plan ... | head` closes the pipe early: that is not an error.
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code === 'EPIPE') process.exit(process.exitCode === undefined ? 0 : Number(process.exitCode));
    throw err;
  });
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (err) => {
      process.stderr.write(`mtpkit: internal error: ${err instanceof Error ? err.stack : String(err)}\n`);
      process.exitCode = 1;
    },
  );
}
