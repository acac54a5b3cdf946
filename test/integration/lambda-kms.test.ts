import type { SQSEvent } from 'aws-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateWrappedKey } from '../../src/masking/kms.js';
import { createMasker } from '../../src/masking/masker.js';
import { freshKmsKey, kmsClient, kmsEndpoint } from '../helpers/kms.js';
import { freshDatabase, query } from '../helpers/services.js';
import { initDb } from '../../src/sink/schema.js';
import pg from 'pg';

const event = (ids: string[]): SQSEvent => ({
  Records: ids.map((id, i) => ({
    messageId: id,
    receiptHandle: `rh-${id}`,
    body: JSON.stringify({ user_id: `lk-${i}`, device_type: 'ios', ip: `192.0.2.${i + 1}`, device_id: `dev-${i}`, locale: null, app_version: '1.0' }),
    attributes: { ApproximateReceiveCount: '1', SentTimestamp: String(Date.UTC(2025, 0, 2)), SenderId: 'test', ApproximateFirstReceiveTimestamp: '' },
    messageAttributes: {},
    md5OfBody: '',
    eventSource: 'aws:sqs',
    eventSourceARN: 'arn:aws:sqs:us-east-1:000000000000:q',
    awsRegion: 'us-east-1',
  })),
});

describe('Lambda handler with a KMS keyring, unwrapped at cold start', () => {
  const saved = { ...process.env };
  let db: string;

  beforeAll(async () => {
    db = await freshDatabase();
    const pool = new pg.Pool({ connectionString: db, max: 1 });
    await initDb(pool);
    await pool.end();
  });
  afterAll(() => {
    process.env = saved;
  });

  it('masks like the plaintext key; a cold start that KMS refuses is retried on the next event', async () => {
    const kms = kmsClient();
    const { alias } = await freshKmsKey(kms);
    const { entry, plaintext } = await generateWrappedKey(kms, alias, 1);
    kms.destroy();
    Object.assign(process.env, { DATABASE_URL: db, AWS_ENDPOINT_URL_KMS: kmsEndpoint(), AWS_REGION: 'us-east-1', PII_MASK_MODE: 'siv', LOG_LEVEL: 'silent' });
    // First cold start: the blob is presented as another version, so KMS refuses it.
    process.env.PII_KEYRING = JSON.stringify({ primary: 2, kmsKeyId: alias, keys: [{ version: 2, wrapped: entry.wrapped }] });
    const { handler } = await import('../../src/lambda/handler.js');
    await expect(handler(event(['m-1']))).rejects.toThrow(/key version 2: kms:Decrypt with .* failed: InvalidCiphertextException/);
    process.env.PII_KEYRING = JSON.stringify({ primary: 1, kmsKeyId: alias, keys: [entry] });
    expect(await handler(event(['m-1', 'm-2']))).toEqual({ batchItemFailures: [] });
    const rows = await query<{ masked_ip: string }>(db, `SELECT masked_ip FROM user_logins ORDER BY user_id`);
    const m = createMasker({ primary: 1, keys: new Map([[1, plaintext]]) }, 'siv');
    expect(rows.map((r) => r.masked_ip)).toEqual([m.mask('ip', '192.0.2.1'), m.mask('ip', '192.0.2.2')]);
  });
});
