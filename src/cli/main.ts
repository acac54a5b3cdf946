import { Command, CommanderError } from 'commander';
import { ConfigError } from '../config/errors.js';
import { demoCommand } from './commands/demo.js';
import { doctorCommand } from './commands/doctor.js';
import { drainCommand } from './commands/drain.js';
import { initDbCommand } from './commands/initDb.js';
import { keygenCommand } from './commands/keygen.js';
import { redriveCommand } from './commands/redrive.js';
import { rekeyCommand } from './commands/rekey.js';
import { reportCommand } from './commands/report.js';
import { revealCommand } from './commands/reveal.js';
import { runCommand } from './commands/run.js';
import { sendCommand } from './commands/send.js';

export const EXIT = { ok: 0, runtime: 1, usage: 2 } as const;

export function buildProgram(): Command {
  const program = new Command('login-etl')
    .description('SQS login events → validated rows with masked ip/device_id in PostgreSQL, exactly once.')
    .version('0.1.0')
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();
  for (const add of [runCommand, drainCommand, initDbCommand, sendCommand, demoCommand, keygenCommand, revealCommand, rekeyCommand, reportCommand, doctorCommand, redriveCommand]) {
    add(program);
  }
  for (const c of program.commands) c.exitOverride();
  return program;
}

/** Runs the CLI and returns the exit code: 0 ok, 1 runtime failure, 2 usage or configuration. */
export async function main(argv: readonly string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv as string[]);
    return Number(process.exitCode ?? EXIT.ok);
  } catch (err) {
    if (err instanceof CommanderError) {
      // Commander has already printed its message (or the help).
      return err.exitCode === 0 || err.code === 'commander.helpDisplayed' || err.code === 'commander.version' ? EXIT.ok : EXIT.usage;
    }
    if (err instanceof ConfigError) {
      process.stderr.write(`login-etl: ${err.message}\n`);
      return EXIT.usage;
    }
    process.stderr.write(`login-etl: ${err instanceof Error ? err.message : String(err)}\n`);
    if (process.env.LOGIN_ETL_DEBUG === '1' && err instanceof Error) process.stderr.write(`${err.stack ?? ''}\n`);
    return EXIT.runtime;
  }
}
