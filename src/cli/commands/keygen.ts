import { InvalidArgumentError, type Command } from 'commander';
import { ConfigError } from '../../config/errors.js';
import { loadKeyring, MAX_KEY_VERSION } from '../../masking/keyring.js';
import { generateKeyText } from '../../masking/keys.js';
import { createKmsClient, generateWrappedKey, kmsError, kmsRegion, unwrapDataKey, wrapDataKey, type KmsSender } from '../../masking/kms.js';
import { createLogger } from '../../observability/logger.js';
import { addSettingOptions, configFrom } from '../options.js';
import { flagName, SETTINGS } from '../../config/spec.js';

const version = (v: string): number => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1 || n > MAX_KEY_VERSION) throw new InvalidArgumentError(`must be a whole number from 1 to ${MAX_KEY_VERSION}`);
  return n;
};

interface KeygenOptions {
  keyVersion?: number;
  kmsKeyId?: string;
  wrapExisting?: boolean;
}

/** Checks that each new entry unwraps to the key it wraps; an identity without kms:Decrypt only gets a warning. */
async function verify(kms: KmsSender, kmsKeyId: string, keys: ReadonlyMap<number, Buffer>, entries: { version: number; wrapped: string }[]): Promise<void> {
  for (const e of entries) {
    try {
      const back = await unwrapDataKey(kms, kmsKeyId, e.version, Buffer.from(e.wrapped, 'base64'));
      if (!back.equals(keys.get(e.version) ?? Buffer.alloc(0))) throw new Error(`key version ${e.version} did not unwrap to the same key`);
    } catch (err) {
      if ((err as { name?: string }).name === 'AccessDeniedException') {
        process.stderr.write(`login-etl: not verified: this identity may not call kms:Decrypt on ${kmsKeyId} (the service's role must)\n`);
        return;
      }
      throw err instanceof Error && err.message.includes('did not unwrap') ? err : kmsError(`kms:Decrypt to verify key version ${e.version} failed`, err, '--kms-key-id');
    }
  }
}

export function keygenCommand(program: Command): void {
  const cmd = program
    .command('keygen')
    .description(
      'Print a new random 32-byte masking key (base64), or a keyring entry with --key-version. ' +
        'With --kms-key-id: a new data key from kms:GenerateDataKey, printed only wrapped ({"version":n,"wrapped":"…"}); ' +
        'add --wrap-existing to wrap the keyring you have now (PII_KEY, PII_KEY_FILE, PII_KEYRING or PII_KEYRING_FILE) with kms:Encrypt instead, ' +
        'so that moving to KMS keeps every token.',
    )
    .option('--key-version <n>', 'print a keyring entry {"version":n,…} for this version (default 1 with --kms-key-id)', version)
    .option('--kms-key-id <id>', 'AWS KMS key (id, ARN, alias/name or alias ARN) to wrap the data key under')
    .option('--wrap-existing', 'with --kms-key-id: print the current keyring, every version wrapped under that key, instead of a new key');
  const keySources = ['piiKeyFile', 'piiKeyringFile', 'strictKeyFiles'] as const;
  addSettingOptions(cmd, [...keySources, 'region']);
  const keySourceFlags = new Set(keySources.map((k) => flagName(SETTINGS[k])));
  cmd.action(async (opts: KeygenOptions) => {
    // The key sources are read only to wrap the keyring you have: anywhere else they would be silently ignored.
    const given = cmd.options.filter((o) => keySourceFlags.has(o.long) && cmd.getOptionValueSource(o.attributeName()) === 'cli').map((o) => o.long);
    if (!opts.wrapExisting && given.length > 0) {
      throw new ConfigError(`${given.join(', ')}: read only with --kms-key-id --wrap-existing, which wraps the keyring you have; keygen otherwise prints a new key`);
    }
    if (opts.kmsKeyId === undefined) {
      if (opts.wrapExisting) throw new ConfigError('--wrap-existing needs --kms-key-id: the KMS key to wrap the keyring under');
      const key = generateKeyText();
      process.stdout.write(`${opts.keyVersion === undefined ? key : JSON.stringify({ version: opts.keyVersion, key })}\n`);
      return;
    }
    const config = configFrom(cmd);
    const kmsKeyId = opts.kmsKeyId;
    const kms = await createKmsClient(kmsRegion(kmsKeyId, config.region));
    try {
      if (!opts.wrapExisting) {
        const v = opts.keyVersion ?? 1;
        const { entry, plaintext } = await generateWrappedKey(kms, kmsKeyId, v).catch((err: unknown) => {
          throw kmsError(`kms:GenerateDataKey with ${kmsKeyId} failed`, err, '--kms-key-id');
        });
        plaintext.fill(0);
        process.stdout.write(`${JSON.stringify(entry)}\n`);
        process.stderr.write(`Add it to a keyring such as {"primary":${v},"kmsKeyId":${JSON.stringify(kmsKeyId)},"keys":[<entry>]} (docs/privacy.md). It holds no secret.\n`);
        return;
      }
      if (opts.keyVersion !== undefined) throw new ConfigError('--wrap-existing keeps the versions the keyring has; leave out --key-version');
      const log = createLogger({ level: 'warn' });
      const keyring = await loadKeyring(config, { warn: (m) => log.warn(m) });
      const entries = [];
      for (const [v, key] of keyring.keys) {
        entries.push(await wrapDataKey(kms, kmsKeyId, v, key).catch((err: unknown) => {
          throw kmsError(`kms:Encrypt of key version ${v} with ${kmsKeyId} failed`, err, '--kms-key-id');
        }));
      }
      await verify(kms, kmsKeyId, keyring.keys, entries);
      const out = {
        primary: keyring.primary,
        kmsKeyId,
        keys: entries,
        ...(keyring.hmacCutover ? { hmacCutover: { version: keyring.hmacCutover.version, until: keyring.hmacCutover.until.toISOString() } } : {}),
      };
      process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
    } finally {
      kms.destroy();
    }
  });
}
