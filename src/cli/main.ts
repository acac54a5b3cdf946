import { Command, CommanderError } from 'commander';
import { LoginEtlError } from '../errors.js';
import { exitOnStopSignal, handleStopSignals } from './signals.js';
import { watchStdout } from './stdout.js';

export const EXIT = { ok: 0, runtime: 1, usage: 2 } as const;

type Register = (program: Command) => void;

/** Each command lives in its own module, loaded only when it runs (or for --help). */
const COMMANDS: Record<string, () => Promise<Register>> = {
  run: async () => (await import('./commands/run.js')).runCommand,
  drain: async () => (await import('./commands/drain.js')).drainCommand,
  'init-db': async () => (await import('./commands/initDb.js')).initDbCommand,
  send: async () => (await import('./commands/send.js')).sendCommand,
  demo: async () => (await import('./commands/demo.js')).demoCommand,
  keygen: async () => (await import('./commands/keygen.js')).keygenCommand,
  reveal: async () => (await import('./commands/reveal.js')).revealCommand,
  rekey: async () => (await import('./commands/rekey.js')).rekeyCommand,
  report: async () => (await import('./commands/report.js')).reportCommand,
  doctor: async () => (await import('./commands/doctor.js')).doctorCommand,
  dlq: async () => (await import('./commands/dlq.js')).dlqCommand,
  redrive: async () => (await import('./commands/redrive.js')).redriveCommand,
};

/** Commands that wind down on SIGINT/SIGTERM themselves; the others exit at once, with 130/143. */
const OWN_STOP = new Set(['run', 'drain', 'demo']);

export async function buildProgram(only?: string): Promise<Command> {
  const program = new Command('login-etl')
    .description('SQS login events → validated rows with masked ip/device_id in PostgreSQL, exactly once.')
    .version('0.1.0')
    // A usage error is one line: commander's message and its suggestion, joined, and where to look.
    .configureOutput({ outputError: (text, write) => write(`${usageLine(text)}\n`) })
    .exitOverride();
  const names = only !== undefined && only in COMMANDS ? [only] : Object.keys(COMMANDS);
  for (const name of names) (await COMMANDS[name]?.())?.(program);
  for (const c of program.commands) c.exitOverride();
  return program;
}

/** `error: unknown option '--jsn'\n(Did you mean --json?)\n` → `login-etl: unknown option '--jsn' (did you mean --json?); run with --help for usage`. */
export function usageLine(text: string): string {
  const parts = text.trim().split('\n').map((l) => l.trim()).filter(Boolean);
  const [first = '', ...rest] = parts;
  const said = [first.replace(/^error:\s*/, ''), ...rest.map((r) => r.replace(/^\(Did/, '(did'))].join(' ');
  return `login-etl: ${said.replace(/\.+$/, '')}; run with --help for usage`;
}

/**
 * Runs the CLI and returns the exit code: 0 ok, 1 runtime failure, 2 usage or configuration, 130/143 an
 * interrupted drain (consume.ts).
 */
export async function main(argv: readonly string[]): Promise<number> {
  watchStdout();
  try {
    const program = await buildProgram(argv[2]);
    // Until a command takes them over, stop signals are only recorded (bin/login-etl.js installs the handlers).
    if (!OWN_STOP.has(argv[2] ?? '')) handleStopSignals(exitOnStopSignal);
    await program.parseAsync(argv as string[]);
    return Number(process.exitCode ?? EXIT.ok);
  } catch (err) {
    if (err instanceof CommanderError) {
      // Commander has already printed its message (or the help).
      return err.exitCode === 0 || err.code === 'commander.helpDisplayed' || err.code === 'commander.version' ? EXIT.ok : EXIT.usage;
    }
    if (err instanceof LoginEtlError && err.exitCode === EXIT.usage) {
      process.stderr.write(`login-etl: ${err.message}\n`);
      return EXIT.usage;
    }
    process.stderr.write(`login-etl: ${err instanceof Error ? err.message : String(err)}\n`);
    if (process.env.LOGIN_ETL_DEBUG === '1' && err instanceof Error) process.stderr.write(`${err.stack ?? ''}\n`);
    return EXIT.runtime;
  }
}
