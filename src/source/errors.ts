import { ConfigError } from '../config/errors.js';

export type SqsFailure = 'transient' | 'config';

const CONFIG_ERRORS = new Set([
  'QueueDoesNotExist', 'AWS.SimpleQueueService.NonExistentQueue', 'AccessDenied', 'AccessDeniedException',
  'InvalidClientTokenId', 'UnrecognizedClientException', 'SignatureDoesNotMatch', 'InvalidAddress',
  'InvalidSecurity', 'ExpiredToken', 'CredentialsProviderError', 'KMS.AccessDeniedException',
]);

interface AwsLikeError { name?: string; Code?: string; code?: string; $metadata?: { httpStatusCode?: number } }

/** Sorts an SQS failure: fixable by the user (bad queue, credentials) or worth retrying (5xx, throttling, network). */
export function classifySqsError(err: unknown): SqsFailure {
  const e = (err ?? {}) as AwsLikeError;
  if (CONFIG_ERRORS.has(e.name ?? '') || CONFIG_ERRORS.has(e.Code ?? '')) return 'config';
  return 'transient';
}

/** A one-line, user-facing description of an SQS failure. */
export function describeSqsError(err: unknown, queueUrl: string): string {
  const e = (err ?? {}) as AwsLikeError & { message?: string };
  const what = e.name ?? e.code ?? 'Error';
  if (what === 'QueueDoesNotExist' || e.Code === 'AWS.SimpleQueueService.NonExistentQueue') {
    return `SQS queue ${queueUrl} does not exist; check SQS_QUEUE_URL (and AWS_ENDPOINT_URL for a local emulator)`;
  }
  const net = e.code ?? (e as { cause?: { code?: string } }).cause?.code;
  if (net === 'ECONNREFUSED' || net === 'ENOTFOUND') {
    return `cannot reach SQS for ${queueUrl} (${net}); is the endpoint running? Set SQS_QUEUE_URL / AWS_ENDPOINT_URL`;
  }
  return `SQS request for ${queueUrl} failed: ${what}${e.message ? `: ${e.message}` : ''}`;
}

export function sqsConfigError(err: unknown, queueUrl: string): ConfigError {
  return new ConfigError(describeSqsError(err, queueUrl), 'SQS_QUEUE_URL', { cause: err });
}
