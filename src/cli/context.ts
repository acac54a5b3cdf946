import type { SQSClient } from '@aws-sdk/client-sqs';
import type pg from 'pg';
import type { Logger } from 'pino';
import { ConfigError } from '../config/errors.js';
import type { Config, Env } from '../config/load.js';
import { loadKeyring, type Keyring } from '../masking/keyring.js';
import { createMasker, type Masker } from '../masking/masker.js';
import { createLogger } from '../observability/logger.js';
import { pgFailureToError, type PgTarget } from '../sink/errors.js';
import { createPool, pgTarget, resolveDatabaseUrl } from '../sink/pool.js';
import { checkSchema } from '../sink/schema.js';
import { createSqsClient } from '../source/client.js';
import { classifySqsError, describeSqsError, sqsConfigError } from '../source/errors.js';
import { queueDepth, type QueueDepth } from '../source/queue.js';

/** What a command needs, built from one validated config. Clients are created here and passed down. */
export interface AppContext {
  config: Config;
  env: Env;
  log: Logger;
  /** Loaded once, on first use; a KMS keyring is unwrapped then (one kms:Decrypt per version). */
  keyring(): Promise<Keyring>;
  masker(): Promise<Masker>;
  sqs(): SQSClient;
  pool(max?: number): pg.Pool;
  pgTarget: PgTarget;
  close(): Promise<void>;
}

export function createContext(config: Config, env: Env = process.env, log = createLogger({ level: config.logLevel })): AppContext {
  let keyring: Promise<Keyring> | undefined;
  let masker: Promise<Masker> | undefined;
  let sqs: SQSClient | undefined;
  let pool: pg.Pool | undefined;
  const url = resolveDatabaseUrl(config.databaseUrl, env);
  return {
    config,
    env,
    log,
    pgTarget: pgTarget(url, env),
    keyring: () => (keyring ??= loadKeyring(config, { warn: (msg) => log.warn(msg), env })),
    masker() {
      return (masker ??= this.keyring().then((k) => createMasker(k, config.piiMaskMode, { context: config.piiContext })));
    },
    sqs: () => (sqs ??= createSqsClient(config, env)),
    pool: (max) => (pool ??= createPool({ url, max: max ?? config.sinkConcurrency + 1 })),
    async close() {
      sqs?.destroy();
      await pool?.end().catch(() => {});
    },
  };
}

/** Connects and checks user_logins and the ledger; Postgres faults become one clear line. */
export async function preflightPostgres(ctx: AppContext): Promise<void> {
  try {
    await checkSchema(ctx.pool());
    // Open the sink's connections now, so the first batches do not pay for connecting and authenticating.
    const clients = await Promise.all(Array.from({ length: ctx.config.sinkConcurrency }, () => ctx.pool().connect()));
    for (const c of clients) c.release();
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    throw pgFailureToError(err, ctx.pgTarget);
  }
}

/** Checks the queue answers; a missing queue or bad credentials is a ConfigError. */
export async function preflightQueue(ctx: AppContext, queueUrl = ctx.config.queueUrl): Promise<QueueDepth> {
  try {
    return await queueDepth(ctx.sqs(), queueUrl);
  } catch (err) {
    if (classifySqsError(err) === 'config') throw sqsConfigError(err, queueUrl);
    throw new Error(describeSqsError(err, queueUrl), { cause: err });
  }
}
