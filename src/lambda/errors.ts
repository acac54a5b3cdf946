import { LoginEtlError } from '../errors.js';

export const LAMBDA_ERROR_CODES = {
  fullBatchFailure: 'ETL_ERR_LAMBDA_FULL_BATCH_FAILURE',
} as const;

/**
 * Every record of a batch failed (typically: PostgreSQL is down). Thrown, as AWS Lambda Powertools'
 * FullBatchFailureError is, so that the invocation counts as an error and the outage shows in the function's
 * Errors metric; Lambda then retries the whole batch, exactly as if every record had been reported failed.
 */
export class FullBatchFailureError extends LoginEtlError {
  override name = 'FullBatchFailureError';
  constructor(readonly failures: number) {
    super(LAMBDA_ERROR_CODES.fullBatchFailure, `all ${failures} record${failures === 1 ? '' : 's'} of the batch failed; the batch will be retried (see the errors logged before this one)`);
  }
}
