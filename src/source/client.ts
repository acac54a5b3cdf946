import type { Logger } from 'pino';
// The Pool module alone, not undici's index: ~45 ms less CPU at every start (docs/performance.md).
import Pool from 'undici/lib/dispatcher/pool.js';
import type { Env } from '../config/load.js';
import { credentialProvider, type CredentialProvider } from './credentials.js';
import { resolveTarget, type SqsClientSettings } from './endpoint.js';
import { networkError, parseErrorResponse, SQS_ERROR_CODES, SqsError } from './errors.js';
import { post, type Answer } from './http.js';
import { createSigner, type SignableRequest } from './signer.js';

export { resolveSqsEndpoint, type SqsClientSettings } from './endpoint.js';

/** The SQS actions this client is used for; any other JSON-protocol action works the same way. */
export type SqsAction =
  | 'ReceiveMessage'
  | 'DeleteMessageBatch'
  | 'ChangeMessageVisibilityBatch'
  | 'SendMessageBatch'
  | 'GetQueueAttributes'
  | 'CreateQueue'
  | (string & {});

export interface SqsClientOptions {
  /** Keep-alive connections to the endpoint; long polls hold one each, so size it to the receivers plus room for deletes, heartbeat and DLQ sends (default 24). */
  connections?: number;
  /** Connect timeout, and the time allowed for an answer on top of a long poll's wait (default 10,000 ms). Past it the call fails as transient. */
  timeoutMs?: number;
  /** Replaces the AWS credential chain (tests). */
  credentials?: CredentialProvider;
  /** For a debug line when the queue URL's region overrides AWS_REGION. */
  log?: Logger;
}

export interface CallOptions {
  /** Aborts the call (a stop during a long poll); the call then rejects with the signal's reason, not an SqsError. */
  signal?: AbortSignal;
  /** Seconds the server may hold the call before answering (a long poll's WaitTimeSeconds), added to the timeout. */
  waitSeconds?: number;
}

/**
 * A small SQS data-plane client: the JSON protocol over a keep-alive undici Pool, signed with the AWS SDK's
 * SigV4 signer, with credentials from the SDK's provider chain. `call` is the one place requests are built;
 * `queue.ts` has the typed calls.
 */
export interface SqsClient {
  /** Where calls go, e.g. `https://sqs.eu-west-1.amazonaws.com` or `http://localhost:4566`. */
  readonly origin: string;
  readonly region: string;
  /**
   * True for an endpoint that is not AWS (LocalStack, ElasticMQ, fauxqs): one server holds the whole queue,
   * so a short poll sees every visible message. On AWS a short poll samples a subset of servers.
   */
  readonly singleServer: boolean;
  /** One call: `input` as JSON, the parsed JSON answer, or a typed SqsError (see errors.ts). */
  call<T = Record<string, unknown>>(action: SqsAction, input: object, o?: CallOptions): Promise<T>;
  /** Closes the connections; calls in progress are aborted. */
  destroy(): Promise<void>;
}

export const DEFAULT_TIMEOUT_MS = 10_000;

/** The request for one call of SQS's JSON protocol (AWS JSON 1.0): a POST to `/` with the action in `x-amz-target`. */
export function jsonRequest(origin: URL, action: SqsAction, body: string): SignableRequest {
  return {
    method: 'POST',
    hostname: origin.hostname,
    path: '/',
    headers: {
      host: origin.host,
      'content-type': 'application/x-amz-json-1.0',
      'x-amz-target': `AmazonSQS.${action}`,
      // Ask for the legacy error code in x-amzn-query-error too, as the SDK does.
      'x-amzn-query-mode': 'true',
    },
    body,
  };
}

export function createSqsClient(s: SqsClientSettings, env: Env = process.env, o: SqsClientOptions = {}): SqsClient {
  const target = resolveTarget(s);
  if (target.regionFromQueueUrl) o.log?.debug(target.regionFromQueueUrl, 'the queue URL names another region than AWS_REGION; signing for the queue URL\'s region');
  const timeoutMs = o.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const url = new URL(target.origin);
  const pool = new Pool(target.origin, { connections: o.connections ?? 24, connectTimeout: timeoutMs, headersTimeout: timeoutMs, bodyTimeout: timeoutMs });
  const sign = createSigner({ service: 'sqs', region: target.region, credentials: o.credentials ?? credentialProvider(env, target.aws, o.log ? (m) => o.log?.warn(m) : undefined) });

  async function call<T>(action: SqsAction, input: object, co: CallOptions = {}): Promise<T> {
    const body = JSON.stringify(input);
    const headers = await sign(jsonRequest(url, action, body));
    const allowance = timeoutMs + (co.waitSeconds ?? 0) * 1000;
    let answer: Answer;
    try {
      answer = await post(pool, { headers, body, signal: co.signal, headersTimeout: allowance, bodyTimeout: timeoutMs });
    } catch (err) {
      if (co.signal?.aborted) throw err;
      throw networkError(action, err, allowance);
    }
    const { status, text } = answer;
    if (status < 200 || status >= 300) throw parseErrorResponse(action, status, answer.headers, text);
    try {
      return (text === '' ? {} : JSON.parse(text)) as T;
    } catch (err) {
      throw new SqsError(SQS_ERROR_CODES.response, `${action}: the answer is not JSON (HTTP ${status})`, action, { status }, { cause: err });
    }
  }

  return {
    origin: target.origin,
    region: target.region,
    singleServer: !target.aws,
    call,
    destroy: () => pool.destroy(),
  };
}
