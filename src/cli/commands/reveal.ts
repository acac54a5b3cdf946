import { Option, type Command } from 'commander';
import { ConfigError } from '../../config/errors.js';
import { audit } from '../../masking/audit.js';
import { IRREVERSIBLE, RevealError } from '../../masking/masker.js';
import { MAX_TOKEN_LENGTH, parseToken, tokenShapeProblem, type PiiField } from '../../masking/token.js';
import { createLogger } from '../../observability/logger.js';
import { createContext } from '../context.js';
import { addSettingOptions, configFrom } from '../options.js';
import { formatCount } from '../../format.js';

/** Most tokens one `reveal` takes: a bound on memory and on what one audited call can disclose. */
export const MAX_REVEAL_TOKENS = 100_000;

/**
 * Tokens from stdin, one per line (a trailing CR is dropped, empty lines skipped). A line longer than any
 * token stops the read at once, so a huge payload is refused before it is held or decrypted.
 */
async function readTokens(stdin: NodeJS.ReadableStream): Promise<string[]> {
  stdin.setEncoding('utf8');
  const lines: string[] = [];
  let partial = '';
  const take = (line: string) => {
    const l = line.endsWith('\r') ? line.slice(0, -1) : line;
    if (l !== '') lines.push(l);
    if (lines.length > MAX_REVEAL_TOKENS) throw new ConfigError(`reveal takes at most ${formatCount(MAX_REVEAL_TOKENS)} tokens at a time; split the input. Nothing was revealed`);
  };
  for await (const chunk of stdin) {
    const parts = (partial + (chunk as string)).split('\n');
    partial = parts.pop() ?? '';
    for (const p of parts) take(p);
    if (partial.length > MAX_TOKEN_LENGTH + 1) {
      throw new ConfigError(`line ${lines.length + 1} on stdin is longer than any token (at most ${MAX_TOKEN_LENGTH} characters); nothing was revealed`);
    }
  }
  take(partial);
  return lines;
}

export function revealCommand(program: Command): void {
  const cmd = program
    .command('reveal')
    .description(
      `Decrypt siv tokens back to the original values, one per line, in order (--json: exact even for values with line breaks). Audited. Tokens from arguments, else stdin (one per line, at most ${formatCount(MAX_REVEAL_TOKENS)}). Each must be exactly as stored: nothing around it.`,
    )
    .addOption(new Option('--field <field>', 'which column the tokens come from').choices(['ip', 'device_id']).makeOptionMandatory())
    .option('--json', 'print a JSON array of {"token", "value"} in input order: exact and paired even when a value holds a line break or control characters (values are only trimmed on the way in)')
    .argument('[tokens...]', 'tokens to reveal');
  addSettingOptions(cmd, ['piiKeyFile', 'piiKeyringFile', 'piiContext', 'strictKeyFiles', 'region', 'auditLogFile', 'logLevel']);
  cmd.action(async (args: string[], opts: { field: PiiField; json?: boolean }) => {
    const config = configFrom(cmd);
    // Audit lines are written whatever LOG_LEVEL says.
    const ctx = createContext(config, process.env, createLogger({ level: 'info' }));
    const tokens = args.length > 0 ? args : await readTokens(process.stdin);
    if (tokens.length === 0) throw new ConfigError('reveal needs tokens, as arguments or one per line on stdin');
    if (tokens.length > MAX_REVEAL_TOKENS) throw new ConfigError(`reveal takes at most ${formatCount(MAX_REVEAL_TOKENS)} tokens at a time; nothing was revealed`);
    const refuse = (i: number, reason: string, message: string) => {
      audit(ctx.log, { action: 'reveal', field: opts.field, tokens: tokens.length, outcome: 'refused', reason }, config.auditLogFile);
      return new ConfigError(`token ${i + 1} of ${tokens.length}: ${message}; nothing was revealed`);
    };
    // Malformed and HMAC tokens are refused before the key is loaded (or unwrapped by KMS): no key reveals them.
    for (const [i, token] of tokens.entries()) {
      const problem = tokenShapeProblem(token);
      if (problem) throw refuse(i, 'not_a_token', problem);
      if (parseToken(token)?.mode === 'hmac') throw refuse(i, 'irreversible', IRREVERSIBLE);
    }
    const masker = await ctx.masker();
    const out: string[] = [];
    for (const [i, token] of tokens.entries()) {
      try {
        out.push(masker.reveal(opts.field, token));
      } catch (err) {
        if (!(err instanceof RevealError)) throw err;
        throw refuse(i, err.code, err.message);
      }
    }
    audit(ctx.log, { action: 'reveal', field: opts.field, tokens: tokens.length, outcome: 'ok' }, config.auditLogFile);
    if (opts.json) {
      process.stdout.write(`${JSON.stringify(tokens.map((token, i) => ({ token, value: out[i] })))}\n`);
      return;
    }
    const split = out.filter((v) => /[\r\n]/.test(v)).length;
    if (split > 0) {
      process.stderr.write(`login-etl: ${formatCount(split)} of the ${formatCount(out.length)} values ${split === 1 ? 'has' : 'have'} a line break, so the output has more lines than tokens; --json keeps each value with its token\n`);
    }
    process.stdout.write(`${out.join('\n')}\n`);
  });
}
