import { describe, expect, it } from 'vitest';
import { checkQueueTypes } from '../../src/cli/context.js';
import { ConfigError } from '../../src/config/errors.js';
import type { QueueInfo } from '../../src/source/queueInfo.js';

const info = (o: Partial<QueueInfo> = {}): QueueInfo => ({ visible: 0, inFlight: 0, delayed: 0, fifo: false, maxMessageBytes: 262_144, contentBasedDeduplication: false, ...o });
const src = 'http://sqs.us-east-1.localhost:4566/000000000000/logins';

describe('a DLQ that is the source queue itself', () => {
  it('is refused when both report the same QueueArn, whatever the URLs look like', () => {
    const arn = 'arn:aws:sqs:us-east-1:000000000000:logins';
    const check = () => checkQueueTypes({ source: info({ arn }), dlq: info({ arn }) }, src, 'http://localhost:4566/000000000000/logins');
    expect(check).toThrow(ConfigError);
    expect(check).toThrow(/is the source queue itself: each reject would come back and be rejected again, without end/);
  });

  it('is refused by URL when the endpoint reports no ARN: host case and a trailing slash do not matter', () => {
    for (const dlq of [src, `${src}/`, src.replace('sqs.us-east-1.localhost', 'SQS.us-east-1.LOCALHOST')]) {
      expect(() => checkQueueTypes({ source: info(), dlq: info() }, src, dlq), dlq).toThrow(/is the source queue itself/);
    }
  });

  it('another queue is accepted; a type mismatch is still its own error', () => {
    expect(() => checkQueueTypes({ source: info({ arn: 'a' }), dlq: info({ arn: 'b' }) }, src, `${src}-dlq`)).not.toThrow();
    expect(() => checkQueueTypes({ source: info(), dlq: info() }, src, `${src}-dlq`)).not.toThrow();
    expect(() => checkQueueTypes({ source: info({ fifo: true }), dlq: info() }, `${src}.fifo`, `${src}-dlq`)).toThrow(/is a standard queue but the source/);
  });
});
