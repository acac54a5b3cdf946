import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { SqsClient } from '../../src/source/client.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { freshQueues, peekAll, sqsClient } from '../helpers/services.js';
import { tempDir } from '../helpers/tmp.js';

describe('login-etl send --file', () => {
  let sqs: SqsClient;
  const dir = tempDir('send-e2e-');
  beforeAll(() => {
    sqs = sqsClient();
  });
  afterAll(() => sqs.destroy());

  const event = { user_id: 'u-1', app_version: '2.3.0', device_type: 'android', ip: '198.51.100.23', locale: 'RU', device_id: '593-47-5928' };

  it('sends one pretty-printed JSON object as one message', async () => {
    const { queueUrl } = await freshQueues(sqs);
    const file = join(dir, 'one.json');
    writeFileSync(file, `${JSON.stringify(event, null, 2)}\n`);
    const r = await runCli(['send', '--file', file], { SQS_QUEUE_URL: queueUrl });
    expect(r.code, r.stderr).toBe(0);
    expect(r.stdout).toContain('sent 1 message to');
    const got = await peekAll(sqs, queueUrl);
    expect(got.map((m) => JSON.parse(m.Body ?? '') as unknown)).toEqual([event]);
  });

  it('refuses a file that is none of the accepted shapes, in one line, without echoing its content', async () => {
    const { queueUrl } = await freshQueues(sqs);
    const file = join(dir, 'bad.json');
    writeFileSync(file, `${JSON.stringify(event)}\nip=198.51.100.99 device=111-22-3333\n`);
    const r = await runCli(['send', '--file', file], { SQS_QUEUE_URL: queueUrl });
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(`login-etl: ${file} is not a JSON array, one JSON event, or NDJSON: line 2 is not valid JSON; fix the file (one event per line for NDJSON)\n`);
    expect(await peekAll(sqs, queueUrl)).toHaveLength(0);
  });
});
