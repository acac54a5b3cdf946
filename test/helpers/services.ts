import { createHash, randomBytes } from 'node:crypto';
import pg from 'pg';
import { afterAll, beforeAll, inject } from 'vitest';
import { initDb } from '../../src/sink/schema.js';
import { createSqsClient, type SqsClient } from '../../src/source/client.js';
import { createQueue, queueDepth, receiveMessages, type Message } from '../../src/source/queue.js';

/** A fixed, random-looking 32-byte test key (base64): real keys are random bytes, so tests use keys that look like them. */
export const testKey = (n: number): string => createHash('sha256').update(`login-etl test key ${n}`).digest('base64');
export const TEST_KEY = testKey(7);

export function sqsEndpoint(): string {
  return inject('sqsEndpoint');
}

export function sqsClient(): SqsClient {
  return createSqsClient({ queueUrl: sqsEndpoint(), sqsEndpoint: sqsEndpoint(), region: 'us-east-1' }, {});
}

const suffix = () => randomBytes(4).toString('hex');

/** A new source queue and DLQ with unique names. */
export async function freshQueues(sqs: SqsClient, visibilityTimeout = 30): Promise<{ queueUrl: string; dlqUrl: string }> {
  const name = `q-${suffix()}`;
  const [queueUrl, dlqUrl] = await Promise.all([createQueue(sqs, name, { VisibilityTimeout: String(visibilityTimeout) }), createQueue(sqs, `${name}-dlq`)]);
  return { queueUrl, dlqUrl };
}

/** moto_server's SQS (an SQS implementation independent of fauxqs; it also serves the KMS tests). */
export function motoSqsClient(): SqsClient {
  const endpoint = inject('kmsEndpoint');
  return createSqsClient({ queueUrl: endpoint, sqsEndpoint: endpoint, region: 'us-east-1' }, {});
}

/**
 * A new FIFO source queue and, unless `dlq` is false, a FIFO DLQ; `attributes` apply to the DLQ (e.g.
 * MaximumMessageSize). Names end in .fifo, as SQS requires.
 */
export async function fifoQueues(sqs: SqsClient, o: { visibilityTimeout?: number; dlq?: boolean; dlqAttributes?: Record<string, string> } = {}): Promise<{ queueUrl: string; dlqUrl: string | undefined }> {
  const name = `f-${suffix()}`;
  const [queueUrl, dlqUrl] = await Promise.all([
    createQueue(sqs, `${name}.fifo`, { FifoQueue: 'true', VisibilityTimeout: String(o.visibilityTimeout ?? 30) }),
    o.dlq === false ? Promise.resolve(undefined) : createQueue(sqs, `${name}-dlq.fifo`, { FifoQueue: 'true', ...o.dlqAttributes }),
  ]);
  return { queueUrl, dlqUrl };
}

/** A new, empty database on the test server; returns its URL. */
export async function freshDatabase(): Promise<string> {
  const admin = inject('pgAdminUrl');
  const name = `t_${suffix()}`;
  const c = new pg.Client({ connectionString: admin });
  await c.connect();
  try {
    await c.query(`CREATE DATABASE ${name}`);
  } finally {
    await c.end();
  }
  const u = new URL(admin);
  u.pathname = `/${name}`;
  return u.toString();
}

/** Every message currently visible on a queue (received with a short visibility, so they come back). */
export async function peekAll(sqs: SqsClient, queueUrl: string): Promise<Message[]> {
  const out: Message[] = [];
  for (let i = 0; i < 100; i++) {
    const r = await receiveMessages(sqs, queueUrl, { waitTimeSeconds: 0, visibilityTimeoutSeconds: 5, messageAttributes: ['All'], systemAttributes: ['All'] });
    if (!r.length) break;
    out.push(...r);
  }
  return out;
}

export async function depth(sqs: SqsClient, queueUrl: string): Promise<number> {
  const d = await queueDepth(sqs, queueUrl);
  return d.visible + d.inFlight + d.delayed;
}

export async function query<T extends pg.QueryResultRow>(url: string, sql: string, params: unknown[] = []): Promise<T[]> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return (await c.query<T>(sql, params)).rows;
  } finally {
    await c.end();
  }
}

/** The reference sample, copied into the repo: 100 bodies, one malformed, 30 null locales. */
export async function sampleBodies(): Promise<string[]> {
  const { readFile } = await import('node:fs/promises');
  const arr = JSON.parse(await readFile(new URL('../fixtures/login-queue-sample.json', import.meta.url), 'utf8')) as unknown[];
  return arr.map((x) => JSON.stringify(x));
}

/** The 99 valid bodies of the sample. */
export async function validSampleBodies(): Promise<string[]> {
  return (await sampleBodies()).filter((b) => !b.includes('oops_wrong_msg_type'));
}

/** `n` valid bodies, each with a unique user_id `${prefix}-${i}`, so exactly-once can be checked row by row. */
export function uniqueBodies(n: number, prefix: string): string[] {
  return Array.from({ length: n }, (_, i) =>
    JSON.stringify({ user_id: `${prefix}-${i}`, app_version: '1.2.3', device_type: i % 2 ? 'ios' : 'android', ip: `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`, locale: null, device_id: `dev-${i % 97}` }),
  );
}

/** Rows per user_id with that prefix: total and distinct. */
export async function rowCounts(url: string, prefix: string): Promise<{ total: number; distinct: number }> {
  const [r] = await query<{ total: number; distinct: number }>(
    url,
    `SELECT count(*)::int AS total, count(DISTINCT user_id)::int AS distinct FROM user_logins WHERE user_id LIKE $1`,
    [`${prefix}-%`],
  );
  return r ?? { total: 0, distinct: 0 };
}

export interface Services {
  sqs: SqsClient;
  /** A fresh database with the schema applied. */
  url: string;
  pool: pg.Pool;
}

/** Registers hooks that provide an SQS client and a fresh, initialised database; read the fields inside tests. */
export function useServices(): Services {
  const s = {} as Services;
  beforeAll(async () => {
    s.sqs = sqsClient();
    s.url = await freshDatabase();
    s.pool = new pg.Pool({ connectionString: s.url, max: 4 });
    await initDb(s.pool);
  });
  afterAll(async () => {
    await s.pool.end();
    await s.sqs.destroy();
  });
  return s;
}
