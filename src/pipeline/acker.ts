import type { Logger } from 'pino';
import type { SqsClient } from '../source/client.js';
import { classifySqsError, sqsConfigError, sqsErrorCode, sqsRepeatKey } from '../source/errors.js';
import { chunk, deleteMessages } from '../source/queue.js';
import { backoffMs, sleep } from './backoff.js';

export interface AckerOptions {
  sqs: SqsClient;
  queueUrl: string;
  log: Logger;
  retryBaseMs: number;
  retryMaxMs: number;
  /** Attempts per group of 10 before giving up (default: until `signal` aborts); an undeleted message is only redelivered. */
  maxAttempts?: number;
  /** Aborted on a fatal fault: stop retrying and let the messages reappear. */
  signal?: AbortSignal;
  onError?: (err: unknown) => void;
  onSuccess?: () => void;
}

/**
 * Deletes messages with DeleteMessageBatch, retrying failed entries (by receipt handle) and transient
 * failures. Called only after the commit, so a delete that never succeeds costs a redelivery, which the
 * ledger absorbs. Resolves with the count deleted; a config fault (queue gone, access revoked) rejects.
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
        o.onSuccess?.();
        if (failed.length === 0) return deleted + pending.length;
        const retry = failed.filter((f) => !f.senderFault).map((f) => pending[Number(f.id)]).filter((h) => h !== undefined);
        const givenUp = failed.filter((f) => f.senderFault);
        if (givenUp.length > 0) {
          o.log.info({ count: givenUp.length, code: givenUp[0]?.code, repeat: `sqs:DeleteMessageBatch:entry:${givenUp[0]?.code ?? ''}` }, 'delete refused (receipt handle expired?); the ledger will absorb the redelivery');
        }
        deleted += pending.length - failed.length;
        pending = retry;
      } catch (err) {
        o.onError?.(err);
        const kind = classifySqsError(err);
        if (kind === 'config') throw sqsConfigError(err, o.queueUrl);
        if (kind === 'request') {
          o.log.error({ err: { code: sqsErrorCode(err), message: (err as Error).message }, count: pending.length, repeat: sqsRepeatKey('DeleteMessageBatch', err) }, 'DeleteMessageBatch refused the request; not retried: the messages will be redelivered and skipped by the ledger');
          return deleted;
        }
        o.log.warn({ err: { code: sqsErrorCode(err), message: (err as Error).message }, attempt, repeat: sqsRepeatKey('DeleteMessageBatch', err) }, 'DeleteMessageBatch failed; retrying');
      }
    }
    if (pending.length > 0 && !o.signal?.aborted) o.log.warn({ count: pending.length }, 'gave up deleting messages; they will be redelivered and skipped by the ledger');
    return deleted;
  }

  return async (handles) => (await Promise.all(chunk(handles).map(deleteGroup))).reduce((a, b) => a + b, 0);
}
