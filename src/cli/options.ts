import { InvalidArgumentError, Option, type Command } from 'commander';
import { checkPipelineSettings, keyFlagsWin, loadConfig, type Config, type Env } from '../config/load.js';
import { rangeText, SETTINGS, type Setting, type SettingKey } from '../config/spec.js';
import { formatCount } from '../format.js';

const attributeOf = (flag: string): string => new Option(flag).attributeName();

/** The settings each command has flags for: only those are read back as settings (rekey's own `--batch-size` is not BATCH_SIZE). */
const settingFlags = new WeakMap<Command, Set<SettingKey>>();

/** Adds the CLI flags of the given settings to a command; help shows each one's variable and default. */
export function addSettingOptions(cmd: Command, keys: readonly SettingKey[]): Command {
  const added = settingFlags.get(cmd) ?? new Set<SettingKey>();
  settingFlags.set(cmd, added);
  for (const key of keys) {
    const s: Setting = SETTINGS[key];
    if (!s.flag) continue;
    added.add(key);
    const shown = s.secret || s.default === undefined ? '' : `; default ${JSON.stringify(s.default)}`;
    const range = rangeText(s);
    const envs = [s.env, ...(s.alsoEnv ?? [])].join(' or ');
    cmd.addOption(new Option(s.flag, `${s.doc.replace(/`/g, '')} [env ${envs}${shown}${range ? `; ${range}` : ''}]`));
  }
  return cmd;
}

/** Parses a count flag: a whole number from 1 to `max`, or a usage error naming the range. */
export const positiveInt = (max = Number.MAX_SAFE_INTEGER) => (v: string): number => {
  const n = Number(v);
  if (!/^\d+$/.test(v) || n < 1 || n > max) {
    throw new InvalidArgumentError(max >= Number.MAX_SAFE_INTEGER ? 'must be a whole number, 1 or more' : `must be a whole number from 1 to ${formatCount(max)}`);
  }
  return n;
};

/** Validated settings for a command: its flags win over the environment. */
export function configFrom(cmd: Command, env: Env = process.env): Config {
  const opts = cmd.optsWithGlobals<Record<string, unknown>>();
  const flags: Partial<Record<SettingKey, unknown>> = {};
  const own = new Set<SettingKey>();
  for (let c: Command | null = cmd; c; c = c.parent) for (const k of settingFlags.get(c) ?? []) own.add(k);
  for (const [key, s] of Object.entries(SETTINGS) as [SettingKey, Setting][]) {
    if (!s.flag || !own.has(key)) continue;
    const v = opts[attributeOf(s.flag)];
    if (v !== undefined) flags[key] = v;
  }
  const config = keyFlagsWin(loadConfig(env, flags, { flagsOffered: own }), flags);
  if (own.has('batchSize') && own.has('maxInFlight')) checkPipelineSettings(config, flags);
  return config;
}

export const SOURCE_KEYS: readonly SettingKey[] = ['queueUrl', 'dlqUrl', 'sqsEndpoint', 'region', 'sqsTimeoutMs'];
/** What the dead-letter commands (`dlq`, `redrive`) need besides the queues: the keyring, and how to mask a body for display. */
export const DLQ_KEYS: readonly SettingKey[] = ['piiKeyFile', 'piiKeyringFile', 'piiMaskMode', 'piiContext', 'strictKeyFiles', 'fieldMap', 'logLevel'];
export const SINK_KEYS: readonly SettingKey[] = ['databaseUrl', 'databaseUrlFile', 'allowUnverifiedTls'];
export const KEY_KEYS: readonly SettingKey[] = ['piiKeyFile', 'piiKeyringFile', 'piiMaskMode', 'piiContext', 'strictKeyFiles'];
export const PIPELINE_KEYS: readonly SettingKey[] = [
  ...SOURCE_KEYS, 'dlqBody', ...SINK_KEYS, ...KEY_KEYS, 'receivers', 'visibilityTimeoutSeconds', 'maxInFlight', 'batchSize',
  'batchMaxAgeMs', 'sinkConcurrency', 'shutdownTimeoutMs', 'fieldMap', 'logLevel',
];
