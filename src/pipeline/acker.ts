import type { SQSClient } from '@aws-sdk/client-sqs';
import type { Logger } from 'pino';
import { classifySqsError, sqsConfigError } from '../source/errors.js';
import { chunk, deleteMessages } from '../source/queue.js';
import { backoffMs, sleep } from './backoff.js';

export interface AckerOptions {
  sqs: SQSClient;
  queueUrl: string;
  log: Logger;
  retryBaseMs: number;
  retryMaxMs: number;
  /** Attempts per group of 10 before giving up (default: until `signal` aborts); an undeleted message is only redelivered. */
  maxAttempts?: number;
  /** Aborted on a fatal fault: stop retrying and let the messages reappear. */
  signal?: AbortSignal;
  onError?: (code: string) => void;
}

/**
 * Deletes messages with DeleteMessageBatch, retrying failed entries. Called only after the commit, so a
 * delete that never succeeds costs a redelivery, which the ledger absorbs. Resolves with the count deleted.
 */
export function createAcker(o: AckerOptions): (handles: readonly string[]) => Promise<number> {
  const maxAttempts = o.maxAttempts ?? Number.POSITIVE_INFINITY;

  async function deleteGroup(group: readonly string[]): Promise<number> {
    let pending = [...group];
    let deleted = 0;
    for (let attempt = 0; pending.length > 0 && attempt < maxAttempts && !o.signal?.aborted; attempt++) {
      if (attempt > 0) await sleep(backoffMs(attempt, o.retryBaseMs, o.retryMaxMs), o.signal);
      try {
        const failed = await deleteMessages(o.sqs, o.queueUrl, pending);
        const retry = failed.filter((f) => !f.senderFault).map((f) => pending[Number(f.id)]).filter((h) => h !== undefined);
        const givenUp = failed.filter((f) => f.senderFault);
        if (givenUp.length > 0) {
          o.log.info({ count: givenUp.length, code: givenUp[0]?.code }, 'delete refused (receipt handle expired?); the ledger will absorb the redelivery');
        }
        deleted += pending.length - failed.length;
        pending = retry;
      } catch (err) {
        o.onError?.((err as Error).name);
        if (classifySqsError(err) === 'config') throw sqsConfigError(err, o.queueUrl);
        o.log.warn({ err: { name: (err as Error).name }, attempt }, 'DeleteMessageBatch failed; retrying');
      }
    }
    if (pending.length > 0) o.log.warn({ count: pending.length }, 'gave up deleting messages; they will be redelivered and skipped by the ledger');
    return deleted;
  }

  return async (handles) => (await Promise.all(chunk(handles).map(deleteGroup))).reduce((a, b) => a + b, 0);
}
