import { randomBytes } from 'node:crypto';
import { InvalidArgumentError, type Command } from 'commander';
import { MAX_KEY_VERSION } from '../../masking/keyring.js';

const version = (v: string): number => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1 || n > MAX_KEY_VERSION) throw new InvalidArgumentError(`must be a whole number from 1 to ${MAX_KEY_VERSION}`);
  return n;
};

export function keygenCommand(program: Command): void {
  program
    .command('keygen')
    .description('Print a new random 32-byte masking key (base64), or a keyring entry with --key-version.')
    .option('--key-version <n>', 'print a keyring entry {"version":n,"key":"…"} instead', version)
    .action((opts: { keyVersion?: number }) => {
      const key = randomBytes(32).toString('base64');
      process.stdout.write(`${opts.keyVersion === undefined ? key : JSON.stringify({ version: opts.keyVersion, key })}\n`);
    });
}
