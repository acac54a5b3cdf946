import type { SQSEvent } from 'aws-lambda';
import pg from 'pg';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { createHandler, FullBatchFailureError } from '../../src/lambda/handler.js';
import { createMasker } from '../../src/masking/masker.js';
import type { SqsClient } from '../../src/source/client.js';
import { ConfigError } from '../../src/config/errors.js';
import { receiveMessages, type Message } from '../../src/source/queue.js';
import { queueInfo } from '../../src/source/queueInfo.js';
import { sendBodies } from '../../src/source/send.js';
import { createTransformer } from '../../src/transform/transform.js';
import { freshQueues, peekAll, query, useServices, validSampleBodies } from '../helpers/services.js';

/** Real SQS messages, received from the emulator, shaped as Lambda's event source mapping delivers them. */
function toEvent(msgs: Message[], queueArn: string): SQSEvent {
  return {
    Records: msgs.map((m) => ({
      messageId: m.MessageId ?? '',
      receiptHandle: m.ReceiptHandle ?? '',
      body: m.Body ?? '',
      attributes: {
        ...m.Attributes,
        ApproximateReceiveCount: m.Attributes?.ApproximateReceiveCount ?? '1',
        SentTimestamp: m.Attributes?.SentTimestamp ?? '',
        SenderId: m.Attributes?.SenderId ?? 'test',
        ApproximateFirstReceiveTimestamp: m.Attributes?.ApproximateFirstReceiveTimestamp ?? '',
      },
      messageAttributes: {},
      md5OfBody: m.MD5OfBody ?? '',
      eventSource: 'aws:sqs',
      eventSourceARN: queueArn,
      awsRegion: 'us-east-1',
    })),
  };
}

async function receiveAll(sqs: SqsClient, queueUrl: string, n: number): Promise<Message[]> {
  const out: Message[] = [];
  while (out.length < n) {
    out.push(...(await receiveMessages(sqs, queueUrl, { waitTimeSeconds: 1, visibilityTimeoutSeconds: 30, systemAttributes: ['All'] })));
  }
  return out;
}

describe('Lambda handler (ReportBatchItemFailures)', () => {
  const env = useServices();
  const transform = createTransformer(createMasker({ primary: 1, keys: new Map([[1, Buffer.alloc(32, 9)]]) }, 'hmac'));
  const log = pino({ level: 'silent' });

  it('writes valid records once and reports only the malformed ones as failures', async () => {
    const { queueUrl } = await freshQueues(env.sqs);
    const bodies = [...(await validSampleBodies()).slice(0, 8), '{"not":"a login"}', 'not json'];
    await sendBodies(env.sqs, queueUrl, bodies);
    const msgs = await receiveAll(env.sqs, queueUrl, 10);
    const event = toEvent(msgs, 'arn:aws:sqs:us-east-1:000000000000:q');
    const res = await createHandler({ pool: env.pool, transform, log })(event);
    const bad = msgs.filter((m) => m.Body === '{"not":"a login"}' || m.Body === 'not json').map((m) => m.MessageId).sort();
    expect(res.batchItemFailures.map((f) => f.itemIdentifier).sort()).toEqual(bad);
    const count = async () => (await query<{ n: number }>(env.url, 'SELECT count(*)::int AS n FROM user_logins'))[0]?.n;
    expect(await count()).toBe(8);
    // Lambda retries the whole batch after a timeout: the ledger absorbs it.
    await createHandler({ pool: env.pool, transform, log })(event);
    expect(await count()).toBe(8);
  });

  it('with a DLQ, dead-letters rejects with their reason and reports no failures', async () => {
    await query(env.url, 'TRUNCATE user_logins, login_etl_ledger');
    const { queueUrl, dlqUrl } = await freshQueues(env.sqs);
    await sendBodies(env.sqs, queueUrl, [...(await validSampleBodies()).slice(0, 4), '[1,2,3]']);
    const res = await createHandler({ pool: env.pool, transform, log, sqs: env.sqs, dlqUrl })(toEvent(await receiveAll(env.sqs, queueUrl, 5), 'arn'));
    expect(res.batchItemFailures).toEqual([]);
    const dead = await peekAll(env.sqs, dlqUrl);
    expect(dead.map((m) => m.MessageAttributes?.reason?.StringValue)).toEqual(['not_an_object']);
  });

  it('a DLQ that is the event source queue itself is refused before anything is written or sent', async () => {
    await query(env.url, 'TRUNCATE user_logins, login_etl_ledger');
    const { queueUrl } = await freshQueues(env.sqs);
    await sendBodies(env.sqs, queueUrl, [...(await validSampleBodies()).slice(0, 2), 'not json']);
    const self = await queueInfo(env.sqs, queueUrl);
    expect(self.arn).toMatch(/^arn:aws:sqs:/);
    const handler = createHandler({ pool: env.pool, transform, log, sqs: env.sqs, dlqUrl: queueUrl, dlq: self });
    const err = await handler(toEvent(await receiveAll(env.sqs, queueUrl, 3), self.arn ?? '')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ConfigError);
    expect((err as ConfigError).code).toBe('ETL_ERR_SQS_DLQ_IS_SOURCE');
    expect((err as Error).message).toMatch(/is the event source queue itself: each reject would come back/);
    expect((await query<{ n: number }>(env.url, 'SELECT count(*)::int AS n FROM user_logins'))[0]?.n).toBe(0);
  });

  it('a wrong password is logged in words, as a fault to fix rather than an outage, without the password', async () => {
    const { queueUrl } = await freshQueues(env.sqs);
    await sendBodies(env.sqs, queueUrl, (await validSampleBodies()).slice(0, 2));
    const u = new URL(env.url);
    u.password = 'not-the-password-42';
    const lines: string[] = [];
    const captured = pino({ level: 'info' }, { write: (l: string) => void lines.push(l) });
    const wrong = new pg.Pool({ connectionString: u.toString(), connectionTimeoutMillis: 2000 });
    try {
      const msgs = await receiveAll(env.sqs, queueUrl, 2);
      const pgTarget = { user: decodeURIComponent(u.username), host: u.hostname, port: Number(u.port), database: u.pathname.slice(1) };
      const err = await createHandler({ pool: wrong, pgTarget, transform, log: captured })(toEvent(msgs, 'arn')).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(FullBatchFailureError);
      const logged = lines.map((l) => JSON.parse(l) as { sqlstate?: string; msg: string }).find((l) => l.sqlstate === '28P01');
      expect(logged?.msg).toMatch(/^batch write failed; the messages will be retried, but this needs a fix, not a retry: PostgreSQL rejected the password for user "\w+" at /);
      expect(lines.join('\n')).not.toContain('not-the-password-42');
    } finally {
      await wrong.end();
    }
  });

  it('Postgres down: every record failed, so it throws FullBatchFailureError (the invocation counts as an error), as Powertools does', async () => {
    const { queueUrl, dlqUrl } = await freshQueues(env.sqs);
    await sendBodies(env.sqs, queueUrl, (await validSampleBodies()).slice(0, 3));
    const down = new pg.Pool({ connectionString: 'postgres://x:y@127.0.0.1:1/none', connectionTimeoutMillis: 500 });
    try {
      const msgs = await receiveAll(env.sqs, queueUrl, 3);
      const err = await createHandler({ pool: down, transform, log })(toEvent(msgs, 'arn')).catch((e: unknown) => e);
      expect(err).toBeInstanceOf(FullBatchFailureError);
      expect(err).toMatchObject({ code: 'ETL_ERR_LAMBDA_FULL_BATCH_FAILURE', failures: 3 });
      // Opted out: every record reported as a failure instead.
      const res = await createHandler({ pool: down, transform, log, throwOnFullBatchFailure: false })(toEvent(msgs, 'arn'));
      expect(res.batchItemFailures.map((f) => f.itemIdentifier).sort()).toEqual(msgs.map((m) => m.MessageId).sort());
      // A malformed record in the batch does not hide the outage: nothing is dead-lettered, the whole batch fails.
      await sendBodies(env.sqs, queueUrl, [...(await validSampleBodies()).slice(0, 2), 'not json']);
      const mixed = await receiveAll(env.sqs, queueUrl, 3);
      const mixedErr = await createHandler({ pool: down, transform, log, sqs: env.sqs, dlqUrl })(toEvent(mixed, 'arn')).catch((e: unknown) => e);
      expect(mixedErr).toMatchObject({ code: 'ETL_ERR_LAMBDA_FULL_BATCH_FAILURE', failures: 3 });
      expect(await peekAll(env.sqs, dlqUrl)).toEqual([]);
    } finally {
      await down.end();
    }
  });
});
