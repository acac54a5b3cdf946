import { ConfigError } from '../config/errors.js';
import { LoginEtlError } from '../errors.js';

/**
 * How the pipeline treats a failed SQS call:
 * - `transient`: throttling, 5xx, network errors, timeouts → back off and retry;
 * - `config`: a missing queue, refused credentials → one line naming the setting, exit 2;
 * - `request`: a request that can never succeed as it is (too long, a bad parameter) → never retried.
 */
export type SqsFailure = 'transient' | 'config' | 'request';

/** Machine-readable codes of SQS failures (`err.code`). */
export const SQS_ERROR_CODES = {
  throttled: 'ETL_ERR_SQS_THROTTLED',
  server: 'ETL_ERR_SQS_SERVER',
  network: 'ETL_ERR_SQS_NETWORK',
  timeout: 'ETL_ERR_SQS_TIMEOUT',
  response: 'ETL_ERR_SQS_RESPONSE',
  queueMissing: 'ETL_ERR_SQS_QUEUE_MISSING',
  access: 'ETL_ERR_SQS_ACCESS',
  noCredentials: 'ETL_ERR_SQS_NO_CREDENTIALS',
  request: 'ETL_ERR_SQS_REQUEST',
} as const;
type SqsErrorCode = (typeof SQS_ERROR_CODES)[keyof typeof SQS_ERROR_CODES];

const KIND: Record<SqsErrorCode, SqsFailure> = {
  ETL_ERR_SQS_THROTTLED: 'transient',
  ETL_ERR_SQS_SERVER: 'transient',
  ETL_ERR_SQS_NETWORK: 'transient',
  ETL_ERR_SQS_TIMEOUT: 'transient',
  ETL_ERR_SQS_RESPONSE: 'transient',
  ETL_ERR_SQS_QUEUE_MISSING: 'config',
  ETL_ERR_SQS_ACCESS: 'config',
  ETL_ERR_SQS_NO_CREDENTIALS: 'config',
  ETL_ERR_SQS_REQUEST: 'request',
};

/** A failed SQS call. `awsCode` and `status` are what the server said; `code` is ours, to branch on. */
export class SqsError extends LoginEtlError {
  override name = 'SqsError';
  readonly kind: SqsFailure;
  constructor(
    code: SqsErrorCode,
    message: string,
    readonly action: string,
    readonly detail: {
      /** The AWS error code, e.g. `QueueDoesNotExist` (from `__type`, without its namespace). */
      awsCode?: string | undefined;
      /** The legacy query-protocol code from `x-amzn-query-error`, e.g. `AWS.SimpleQueueService.NonExistentQueue`. */
      queryCode?: string | undefined;
      /** HTTP status, when the server answered. */
      status?: number | undefined;
      /** Network error code (`ECONNREFUSED`, `UND_ERR_HEADERS_TIMEOUT`, …), when it did not. */
      errno?: string | undefined;
    } = {},
    options?: ErrorOptions,
  ) {
    super(code, message, options);
    this.kind = KIND[code];
  }
  get awsCode(): string | undefined {
    return this.detail.awsCode;
  }
  get status(): number | undefined {
    return this.detail.status;
  }
  /** A short name for logs and metric labels: the AWS code, else `HTTP<status>`, else the network error code. */
  get shortCode(): string {
    return this.detail.awsCode ?? this.detail.queryCode ?? (this.detail.status ? `HTTP${this.detail.status}` : undefined) ?? this.detail.errno ?? 'Error';
  }
}

const QUERY_PREFIX = 'AWS.SimpleQueueService.';
const bare = (code: string) => (code.startsWith(QUERY_PREFIX) ? code.slice(QUERY_PREFIX.length) : code);

/** AWS codes (JSON and query-protocol names, without the `AWS.SimpleQueueService.` prefix) by our code. */
const THROTTLED = new Set(['ThrottlingException', 'Throttling', 'RequestThrottled', 'KmsThrottled', 'KMS.ThrottlingException', 'OverLimit', 'TooManyRequestsException', 'RequestLimitExceeded', 'SlowDown']);
const SERVER = new Set(['InternalError', 'InternalFailure', 'ServiceUnavailable', 'ServiceUnavailableException', 'RequestTimeout', 'RequestTimeoutException']);
const QUEUE_MISSING = new Set(['QueueDoesNotExist', 'NonExistentQueue', 'QueueDeletedRecently', 'InvalidAddress', 'ResourceNotFoundException']);
const ACCESS = new Set([
  'AccessDenied', 'AccessDeniedException', 'InvalidClientTokenId', 'UnrecognizedClientException', 'SignatureDoesNotMatch',
  'IncompleteSignature', 'MissingAuthenticationToken', 'InvalidSecurity', 'ExpiredToken', 'ExpiredTokenException', 'RequestExpired',
  'OptInRequired', 'KmsAccessDenied', 'KMS.AccessDeniedException', 'KmsDisabled', 'KMS.DisabledException', 'KmsNotFound',
  'KMS.NotFoundException', 'KmsInvalidState', 'KMS.InvalidStateException', 'KmsInvalidKeyUsage', 'KMS.InvalidKeyUsageException',
  'KmsOptInRequired', 'KMS.OptInRequired',
]);

/** Sorts an AWS error code and HTTP status into our code: the one classification place. */
export function codeFor(awsCode: string | undefined, status: number | undefined): SqsErrorCode {
  const c = awsCode === undefined ? undefined : bare(awsCode);
  if (c !== undefined) {
    if (THROTTLED.has(c)) return SQS_ERROR_CODES.throttled;
    if (SERVER.has(c)) return SQS_ERROR_CODES.server;
    if (QUEUE_MISSING.has(c)) return SQS_ERROR_CODES.queueMissing;
    if (ACCESS.has(c)) return SQS_ERROR_CODES.access;
  }
  if (status === undefined || status >= 500) return SQS_ERROR_CODES.server;
  if (status === 429 || status === 408) return SQS_ERROR_CODES.throttled;
  if (status === 401 || status === 403) return SQS_ERROR_CODES.access;
  // Any other 4xx: the request itself is at fault (BatchRequestTooLong, InvalidParameterValue, MissingParameter…).
  return SQS_ERROR_CODES.request;
}

/** `com.amazonaws.sqs#QueueDoesNotExist:http://…` → `QueueDoesNotExist`, as the SDK sanitises it. */
function sanitize(raw: unknown): string | undefined {
  if (typeof raw !== 'string' || raw === '') return undefined;
  let v = raw.split(',')[0] ?? raw;
  v = v.split(':')[0] ?? v;
  if (v.includes('#')) v = v.slice(v.indexOf('#') + 1);
  return v.trim() || undefined;
}

type Headers = Record<string, string | string[] | undefined>;
const header = (h: Headers, name: string): string | undefined => {
  const v = h[name];
  return Array.isArray(v) ? v[0] : v;
};

/** Builds the error for a non-2xx answer from the JSON body (`__type`, `message`) and `x-amzn-query-error`. */
export function parseErrorResponse(action: string, status: number, headers: Headers, body: string): SqsError {
  let data: Record<string, unknown> = {};
  try {
    const parsed: unknown = JSON.parse(body);
    if (parsed && typeof parsed === 'object') data = parsed as Record<string, unknown>;
  } catch {
    // Not JSON (a load balancer's HTML page, an empty body): the status decides.
  }
  const [queryRaw] = (header(headers, 'x-amzn-query-error') ?? '').split(';');
  const queryCode = queryRaw?.trim() || undefined;
  const awsCode = sanitize(data.__type) ?? sanitize(header(headers, 'x-amzn-errortype')) ?? sanitize(data.code ?? data.Code) ?? (queryCode ? bare(queryCode) : undefined);
  const text = typeof data.message === 'string' ? data.message : typeof data.Message === 'string' ? data.Message : undefined;
  const code = codeFor(awsCode ?? queryCode, status);
  const what = awsCode ?? `HTTP ${status}`;
  return new SqsError(code, `${action}: ${what}${text ? `: ${oneLine(text)}` : ''}`, action, { awsCode, queryCode, status });
}

const TIMEOUTS = new Set(['UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT', 'ETIMEDOUT']);

/** Builds the error for a call that got no answer: refused, reset, unresolvable, or timed out. */
export function networkError(action: string, err: unknown, timeoutMs?: number): SqsError {
  const e = err as { code?: string; cause?: { code?: string }; message?: string };
  const errno = e.code ?? e.cause?.code ?? 'Error';
  if (TIMEOUTS.has(errno)) {
    const within = timeoutMs === undefined ? '' : ` within ${timeoutMs} ms`;
    return new SqsError(SQS_ERROR_CODES.timeout, `${action}: no answer${within} (${errno})`, action, { errno }, { cause: err });
  }
  return new SqsError(SQS_ERROR_CODES.network, `${action}: ${errno}${e.message ? `: ${oneLine(e.message)}` : ''}`, action, { errno }, { cause: err });
}

const oneLine = (s: string) => s.replace(/\s+/g, ' ').trim().slice(0, 300);

/** Sorts any failure of an SQS call. Anything that is not a typed SQS failure is a bug: never retried. */
export function classifySqsError(err: unknown): SqsFailure {
  if (err instanceof SqsError) return err.kind;
  if (err instanceof ConfigError) return 'config';
  return 'request';
}

/** A short code for logs, metric labels and the `repeat` key of a warning. */
export function sqsErrorCode(err: unknown): string {
  if (err instanceof SqsError) return err.shortCode;
  return (err as Error | undefined)?.name ?? 'Error';
}

/** The `repeat` key of a warning about a failed call: one per call and code (PLAN.md conventions). */
export const sqsRepeatKey = (action: string, err: unknown): string => `sqs:${action}:${sqsErrorCode(err)}`;

/** A one-line, user-facing description of an SQS failure. */
export function describeSqsError(err: unknown, queueUrl: string): string {
  if (err instanceof ConfigError) return err.message;
  if (!(err instanceof SqsError)) return `SQS request for ${queueUrl} failed: ${(err as Error)?.message ?? String(err)}`;
  switch (err.code) {
    case SQS_ERROR_CODES.queueMissing:
      return `SQS queue ${queueUrl} does not exist; check SQS_QUEUE_URL / SQS_DLQ_URL (and AWS_ENDPOINT_URL_SQS for a local emulator)`;
    case SQS_ERROR_CODES.access:
      return `SQS refused access to ${queueUrl} (${err.shortCode}); check the AWS credentials, their permissions on the queue, AWS_REGION and the clock`;
    case SQS_ERROR_CODES.network:
      return `cannot reach SQS for ${queueUrl} (${err.shortCode}); is the endpoint running? Check SQS_QUEUE_URL / AWS_ENDPOINT_URL_SQS`;
    case SQS_ERROR_CODES.timeout:
      return `SQS did not answer for ${queueUrl} (${err.message}); is the endpoint up? Check SQS_QUEUE_URL / AWS_ENDPOINT_URL_SQS, or raise SQS_TIMEOUT_MS`;
    default:
      return `SQS request for ${queueUrl} failed: ${err.message}`;
  }
}

/** The one line a user sees for a config fault (exit 2), keeping our code and the SQS error as its cause. */
export function sqsConfigError(err: unknown, queueUrl: string): ConfigError {
  if (err instanceof ConfigError) return err;
  const code = err instanceof SqsError ? err.code : 'ETL_ERR_SQS';
  return new ConfigError(describeSqsError(err, queueUrl), 'SQS_QUEUE_URL', { cause: err, code });
}
