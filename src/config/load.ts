import type { z } from 'zod';
import { ConfigError } from './errors.js';
import { flagName, KEY_SOURCES, SETTINGS, type KeyFlag, type Setting, type SettingKey } from './spec.js';

export type Config = { -readonly [K in SettingKey]: z.output<(typeof SETTINGS)[K]['schema']> } & {
  /** Set by keyFlagsWin when a command's key flag was given: that source wins over every key variable. */
  keyFlag?: KeyFlag;
};
export type Env = Record<string, string | undefined>;
export type Flags = Partial<Record<SettingKey, unknown>>;

/** Where a setting's raw value came from, for error messages: the flag if given, else the variable (and its flag, where there is one to use). */
function sourceName(s: Setting, fromFlag: boolean, hasFlag = true): string {
  const flag = flagName(s);
  return fromFlag && flag ? flag : flag && hasFlag ? `${s.env} (${flag})` : s.env;
}

function describeIssue(issue: z.core.$ZodIssue): string {
  // A schema's own wording ("must be a whole number from 1 to 64") says more than the generic one.
  if (issue.message.startsWith('must ')) return issue.message;
  switch (issue.code) {
    case 'too_big':
      return `must be at most ${String(issue.maximum)}`;
    case 'too_small':
      return issue.origin === 'string' && Number(issue.minimum) === 1 ? 'must not be empty' : `must be at least ${String(issue.minimum)}`;
    case 'invalid_type':
      return `must be a ${issue.expected}`;
    case 'invalid_value':
      return `must be one of: ${issue.values.map(String).join(', ')}`;
    case 'invalid_union':
      return 'must be true or false (or 1 or 0, yes or no)';
    default:
      return issue.message;
  }
}

export interface LoadOptions {
  /** The settings whose flags the caller offers (a command's, or none for the Lambda handler); default: every flag. An error names a flag only if it is offered. */
  flagsOffered?: ReadonlySet<SettingKey>;
}

/**
 * Validates flags (which win) and environment variables against SETTINGS and applies defaults.
 * Throws a ConfigError naming the first bad setting; values are never echoed, so secrets stay out of errors.
 */
export function loadConfig(env: Env = process.env, flags: Flags = {}, o: LoadOptions = {}): Config {
  const out: Record<string, unknown> = {};
  for (const [key, s] of Object.entries(SETTINGS) as [SettingKey, Setting][]) {
    const flagValue = flags[key];
    const envValue = [s.env, ...(s.alsoEnv ?? [])].map((n) => env[n]).find((v) => v !== undefined && v !== '');
    const raw = flagValue ?? envValue ?? s.default;
    const parsed = s.schema.safeParse(raw);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      const why = issue ? describeIssue(issue) : 'is invalid';
      throw new ConfigError(`${sourceName(s, flagValue !== undefined, o.flagsOffered?.has(key) ?? true)} ${why}`, s.env);
    }
    out[key] = parsed.data;
  }
  return out as Config;
}

/**
 * A batch fills only from messages received and not yet deleted, which MAX_IN_FLIGHT bounds. Past half of it,
 * the next batch cannot fill while one is written; at MAX_IN_FLIGHT none ever fills, and each waits out
 * BATCH_MAX_AGE_MS (50,000 messages: 12 s against 4–5 s, README "Delivery guarantees"). Checked only for the
 * commands that batch (their flags include both), so a shared environment does not stop `dlq list` or `rekey`.
 */
export function checkBatchFits(c: Config, flags: Flags = {}, flagsOffered?: ReadonlySet<SettingKey>): void {
  if (c.batchSize * 2 <= c.maxInFlight) return;
  const name = (key: SettingKey) => sourceName(SETTINGS[key], flags[key] !== undefined, flagsOffered?.has(key) ?? true);
  throw new ConfigError(
    `${name('batchSize')} is ${c.batchSize} but ${name('maxInFlight')} is ${c.maxInFlight}: BATCH_SIZE may be at most half of MAX_IN_FLIGHT, because a batch fills only from messages received and not yet deleted, and the next one must fill while one is written; lower BATCH_SIZE (default ${SETTINGS.batchSize.default}) or raise MAX_IN_FLIGHT to at least ${c.batchSize * 2}`,
    SETTINGS.batchSize.env,
  );
}

/**
 * Back-off grows from RETRY_BASE_MS to RETRY_MAX_MS. A base above the cap would make every delay the cap,
 * which is almost certainly two values swapped. Checked, like checkBatchFits, only for the commands that retry.
 */
export function checkRetryRange(c: Config): void {
  if (c.retryBaseMs <= c.retryMaxMs) return;
  throw new ConfigError(
    `RETRY_BASE_MS is ${c.retryBaseMs} but RETRY_MAX_MS is ${c.retryMaxMs}: the first back-off cannot be longer than the longest; lower RETRY_BASE_MS (default ${SETTINGS.retryBaseMs.default}) or raise RETRY_MAX_MS to at least ${c.retryBaseMs}`,
    SETTINGS.retryBaseMs.env,
  );
}

/** The checks between settings that the batching, retrying commands need (drain, run, doctor, the demo). */
export function checkPipelineSettings(c: Config, flags: Flags = {}, flagsOffered?: ReadonlySet<SettingKey>): void {
  checkBatchFits(c, flags, flagsOffered);
  checkRetryRange(c);
}

/**
 * A key named by flag (`--key-file`, `--keyring-file`) is the key used: flags win over every key variable, so an
 * exported PII_KEY cannot quietly mask with another key than the one on the command line (the keyring loader
 * says which variables it ignores). Both flags at once are refused.
 */
export function keyFlagsWin(c: Config, flags: Flags = {}): Config {
  const given = KEY_SOURCES.filter((k): k is KeyFlag => flags[k] !== undefined);
  if (given.length === 0) return c;
  if (given.length > 1) {
    const names = given.map((k) => sourceName(SETTINGS[k] as Setting, true));
    throw new ConfigError(`${names.join(' and ')} are both given: pass one masking key source`, SETTINGS[given[0] as SettingKey].env);
  }
  return { ...c, keyFlag: given[0] };
}
