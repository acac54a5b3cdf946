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
import { createSqsClient, type SqsClient } from '../source/client.js';
import { classifySqsError, describeSqsError, sqsConfigError } from '../source/errors.js';
import { queueDepth, type QueueDepth } from '../source/queue.js';

/** What a command needs, built from one validated config. Clients are created here and passed down. */
export interface AppContext {
  config: Config;
  env: Env;
  log: Logger;
  keyring(): Keyring;
  masker(): Masker;
  sqs(): SqsClient;
  pool(max?: number): pg.Pool;
  pgTarget: PgTarget;
  close(): Promise<void>;
}

export function createContext(config: Config, env: Env = process.env, log = createLogger({ level: config.logLevel })): AppContext {
  let keyring: Keyring | undefined;
  let sqs: SqsClient | undefined;
  let pool: pg.Pool | undefined;
  const url = resolveDatabaseUrl(config.databaseUrl, env);
  return {
    config,
    env,
    log,
    pgTarget: pgTarget(url, env),
    keyring: () => (keyring ??= loadKeyring(config, (msg) => log.warn(msg))),
    masker() {
      return createMasker(this.keyring(), config.piiMaskMode);
    },
    // Long polls hold a connection each: one per receiver, plus room for deletes, heartbeat and DLQ sends.
    sqs: () => (sqs ??= createSqsClient(config, env, { connections: config.receivers + 16, timeoutMs: config.sqsTimeoutMs, log })),
    pool: (max) => (pool ??= createPool({ url, max: max ?? config.sinkConcurrency + 1 })),
    async close() {
      await Promise.all([sqs?.destroy(), pool?.end().catch(() => {})]);
    },
  };
}

/** Connects and checks user_logins and the ledger; Postgres faults become one clear line. */
export async function preflightPostgres(ctx: AppContext): Promise<void> {
  try {
    await checkSchema(ctx.pool());
    // Open the sink's connections now, so the first batches do not pay for connecting and authenticating.
    // Release every one that connected even if another failed: a client left checked out makes pool.end() wait forever.
    const opened = await Promise.allSettled(Array.from({ length: ctx.config.sinkConcurrency }, () => ctx.pool().connect()));
    for (const o of opened) if (o.status === 'fulfilled') o.value.release();
    const failed = opened.find((o) => o.status === 'rejected');
    if (failed) throw failed.reason;
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

/**
 * A consumer's start-up checks, run at once (PostgreSQL and its sink connections, the source queue, the
 * DLQ); the first failure in that order is the one reported, so the outcome does not depend on timing.
 */
export async function preflightConsumer(ctx: AppContext): Promise<void> {
  const results = await Promise.allSettled([
    preflightPostgres(ctx),
    preflightQueue(ctx),
    ctx.config.dlqUrl ? preflightQueue(ctx, ctx.config.dlqUrl) : Promise.resolve(undefined),
  ]);
  for (const r of results) if (r.status === 'rejected') throw r.reason;
}
