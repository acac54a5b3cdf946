import type pg from 'pg';
import type { Logger } from 'pino';
import { ConfigError } from '../config/errors.js';
import type { Config, Env } from '../config/load.js';
import { loadKeyring, type Keyring } from '../masking/keyring.js';
import { createGroupLabel, type GroupLabel } from '../masking/groupLabel.js';
import { createMasker, type Masker } from '../masking/masker.js';
import { createLogger } from '../observability/logger.js';
import { resolveConnection, type PgConnection } from '../sink/connection.js';
import { pgFailureToError, type PgTarget } from '../sink/errors.js';
import { createPool, fitPoolToServer } from '../sink/pool.js';
import { checkSchema } from '../sink/schema.js';
import { createSqsClient, type SqsClient } from '../source/client.js';
import { resolveTarget } from '../source/endpoint.js';
import { classifySqsError, describeSqsError, sqsConfigError } from '../source/errors.js';
import { queueDepth, type QueueDepth } from '../source/queue.js';
import { queueInfo, type QueueInfo } from '../source/queueInfo.js';

/** What a command needs, built from one validated config. Clients are created here and passed down. */
export interface AppContext {
  config: Config;
  env: Env;
  log: Logger;
  /** Loaded once, on first use; a KMS keyring is unwrapped then (one kms:Decrypt per version). */
  keyring(): Promise<Keyring>;
  masker(): Promise<Masker>;
  /** How FIFO group ids are shown (masking/groupLabel.ts): keyed by the keyring and PII_CONTEXT, as tokens are. */
  groupLabel(): Promise<GroupLabel>;
  sqs(): SqsClient;
  /** The DLQ's client: the source's, unless SQS_DLQ_URL resolves to another endpoint or region. */
  dlqSqs(): SqsClient;
  pool(max?: number): pg.Pool;
  /** Where and how to connect to PostgreSQL (resolved on first use; its warnings are logged then). */
  pgConnection(): PgConnection;
  readonly pgTarget: PgTarget;
  close(): Promise<void>;
}

export function createContext(config: Config, env: Env = process.env, log = createLogger({ level: config.logLevel })): AppContext {
  let keyring: Promise<Keyring> | undefined;
  let masker: Promise<Masker> | undefined;
  let groupLabel: Promise<GroupLabel> | undefined;
  let sqs: SqsClient | undefined;
  let dlqSqs: SqsClient | undefined;
  let pool: pg.Pool | undefined;
  let connection: PgConnection | Error | undefined;
  const pgConnection = (): PgConnection => {
    if (connection === undefined) {
      try {
        connection = resolveConnection(config, env);
        for (const w of connection.warnings) log.warn(w);
      } catch (err) {
        connection = err as Error;
      }
    }
    if (connection instanceof Error) throw connection;
    return connection;
  };
  return {
    config,
    env,
    log,
    pgConnection,
    get pgTarget() {
      return pgConnection().target;
    },
    keyring: () => (keyring ??= loadKeyring(config, { warn: (msg) => log.warn(msg), env })),
    masker() {
      return (masker ??= this.keyring().then((k) => createMasker(k, config.piiMaskMode, { context: config.piiContext })));
    },
    groupLabel() {
      return (groupLabel ??= this.keyring().then((k) => createGroupLabel(k, config.piiContext)));
    },
    // Long polls hold a connection each: one per receiver, plus room for deletes, heartbeat and DLQ sends.
    sqs: () => (sqs ??= createSqsClient(config, env, { connections: config.receivers + 16, timeoutMs: config.sqsTimeoutMs, log })),
    dlqSqs() {
      if (dlqSqs) return dlqSqs;
      const source = this.sqs();
      if (!config.dlqUrl) return (dlqSqs = source);
      const settings = { ...config, queueUrl: config.dlqUrl };
      const dlq = resolveTarget(settings);
      const same = dlq.origin === source.origin && dlq.region === source.region;
      return (dlqSqs = same ? source : createSqsClient(settings, env, { connections: 8, timeoutMs: config.sqsTimeoutMs, log }));
    },
    pool: (max) => (pool ??= createPool({ connection: pgConnection(), max: max ?? config.sinkConcurrency + 1 })),
    async close() {
      // pool.end() waits for every checked-out client; never let a leaked one hang the exit.
      const closePool = pool ? Promise.race([pool.end().catch(() => {}), new Promise((r) => setTimeout(r, 2000).unref())]) : undefined;
      await Promise.all([sqs?.destroy(), dlqSqs !== sqs ? dlqSqs?.destroy() : undefined, closePool]);
    },
  };
}

/**
 * Connects, sizes the pool to the connections the server grants, and checks user_logins and the ledger;
 * Postgres faults become one clear line.
 */
export async function preflightPostgres(ctx: AppContext): Promise<void> {
  try {
    const pool = ctx.pool();
    const fit = await fitPoolToServer(pool, ctx.pgTarget);
    if (fit.note) ctx.log.info(fit.note);
    await checkSchema(pool);
    // Open the sink's connections now, so the first batches do not pay for connecting and authenticating.
    const opened = await Promise.allSettled(Array.from({ length: Math.min(ctx.config.sinkConcurrency, fit.max) }, () => pool.connect()));
    for (const o of opened) if (o.status === 'fulfilled') o.value.release();
    const failed = opened.find((o) => o.status === 'rejected');
    if (failed) ctx.log.warn({ err: { message: pgFailureToError(failed.reason, ctx.pgTarget).message } }, 'could not open every PostgreSQL connection at start-up; the sink retries');
  } catch (err) {
    if (err instanceof ConfigError) throw err;
    throw pgFailureToError(err, ctx.pgTarget);
  }
}

/** Checks the queue answers; a missing queue or bad credentials is a ConfigError. */
export async function preflightQueue(ctx: AppContext, queueUrl = ctx.config.queueUrl, sqs = ctx.sqs()): Promise<QueueDepth> {
  try {
    return await queueDepth(sqs, queueUrl);
  } catch (err) {
    if (classifySqsError(err) === 'config') throw sqsConfigError(err, queueUrl);
    throw new Error(describeSqsError(err, queueUrl), { cause: err });
  }
}

/** Checks the queue answers and reads its type, size limit and redrive policy; a missing queue or bad credentials is a ConfigError. */
export async function preflightQueueInfo(ctx: AppContext, queueUrl = ctx.config.queueUrl, sqs = ctx.sqs()): Promise<QueueInfo> {
  try {
    return await queueInfo(sqs, queueUrl);
  } catch (err) {
    if (classifySqsError(err) === 'config') throw sqsConfigError(err, queueUrl);
    throw new Error(describeSqsError(err, queueUrl), { cause: err });
  }
}

/** What a consumer learnt about its queues at start-up. */
export interface ConsumerQueues {
  source: QueueInfo;
  dlq?: QueueInfo | undefined;
}

/**
 * The DLQ must be another queue than the source (each reject would come back and be rejected again), and of
 * its type, as SQS's own redrive policy requires: a FIFO dead letter needs a group id a standard queue refuses,
 * and a standard queue's messages have none.
 */
export function checkQueueTypes(q: ConsumerQueues, queueUrl: string, dlqUrl: string | undefined): void {
  if (!q.dlq) return;
  const sameUrl = (a: URL, b: URL) => a.host.toLowerCase() === b.host.toLowerCase() && a.pathname.replace(/\/+$/, '') === b.pathname.replace(/\/+$/, '');
  if ((q.dlq.arn !== undefined && q.dlq.arn === q.source.arn) || (dlqUrl !== undefined && sameUrl(new URL(dlqUrl), new URL(queueUrl)))) {
    throw new ConfigError(
      `SQS_DLQ_URL (--dlq-url) ${dlqUrl ?? ''} is the source queue itself: each reject would come back and be rejected again, without end; point SQS_DLQ_URL at another queue, or unset it`,
      'SQS_DLQ_URL',
      { code: 'ETL_ERR_SQS_DLQ_IS_SOURCE' },
    );
  }
  if (q.dlq.fifo === q.source.fifo) return;
  const kind = (fifo: boolean) => (fifo ? 'a FIFO queue' : 'a standard queue');
  throw new ConfigError(
    `SQS_DLQ_URL (--dlq-url) ${dlqUrl ?? ''} is ${kind(q.dlq.fifo)} but the source ${queueUrl} is ${kind(q.source.fifo)}: a dead-letter queue must be of the same type as its source (as SQS's redrive policy requires); point SQS_DLQ_URL at ${q.source.fifo ? 'a FIFO queue (its name ends in .fifo)' : 'a standard queue'}`,
    'SQS_DLQ_URL',
    { code: 'ETL_ERR_SQS_DLQ_TYPE' },
  );
}

/**
 * A consumer's start-up checks, run at once (PostgreSQL and its sink connections, the source queue, the
 * DLQ); the first failure in that order is the one reported, so the outcome does not depend on timing.
 */
export async function preflightConsumer(ctx: AppContext): Promise<ConsumerQueues> {
  const { dlqUrl } = ctx.config;
  const [pg, source, dlq] = await Promise.allSettled([
    preflightPostgres(ctx),
    preflightQueueInfo(ctx),
    dlqUrl ? preflightQueueInfo(ctx, dlqUrl, ctx.dlqSqs()) : Promise.resolve(undefined),
  ]);
  for (const r of [pg, source, dlq]) if (r.status === 'rejected') throw r.reason;
  const q: ConsumerQueues = { source: (source as PromiseFulfilledResult<QueueInfo>).value, dlq: (dlq as PromiseFulfilledResult<QueueInfo | undefined>).value };
  checkQueueTypes(q, ctx.config.queueUrl, dlqUrl);
  return q;
}
