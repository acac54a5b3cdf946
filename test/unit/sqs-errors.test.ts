import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/config/errors.js';
import { LoginEtlError } from '../../src/errors.js';
import {
  classifySqsError,
  describeSqsError,
  networkError,
  parseErrorResponse,
  sqsConfigError,
  sqsRepeatKey,
  SqsError,
} from '../../src/source/errors.js';

const JSON_CT = { 'content-type': 'application/x-amz-json-1.0' };
const Q = 'https://sqs.eu-west-1.amazonaws.com/123456789012/login-queue';

describe('SQS error bodies are parsed into one classification', () => {
  it('JSON __type with the com.amazonaws namespace, and the x-amzn-query-error header', () => {
    const e = parseErrorResponse('ReceiveMessage', 400, { ...JSON_CT, 'x-amzn-query-error': 'AWS.SimpleQueueService.NonExistentQueue;Sender' }, JSON.stringify({ __type: 'com.amazonaws.sqs#QueueDoesNotExist', message: 'The specified queue does not exist.' }));
    expect(e).toBeInstanceOf(SqsError);
    expect(e).toBeInstanceOf(LoginEtlError);
    expect(e.code).toBe('ETL_ERR_SQS_QUEUE_MISSING');
    expect(e.kind).toBe('config');
    expect(e.awsCode).toBe('QueueDoesNotExist');
    expect(e.detail.queryCode).toBe('AWS.SimpleQueueService.NonExistentQueue');
    expect(e.status).toBe(400);
    expect(e.message).toBe('ReceiveMessage: QueueDoesNotExist: The specified queue does not exist.');
  });

  it('__type without a namespace, and `Message` capitalised', () => {
    const e = parseErrorResponse('DeleteMessageBatch', 400, JSON_CT, JSON.stringify({ __type: 'AccessDenied', Message: 'no' }));
    expect(e).toMatchObject({ code: 'ETL_ERR_SQS_ACCESS', kind: 'config', awsCode: 'AccessDenied' });
  });

  it('__type with a trailing `:uri` (as some services send) is cut like the SDK does', () => {
    expect(parseErrorResponse('X', 400, JSON_CT, JSON.stringify({ __type: 'com.amazon.coral.service#UnrecognizedClientException:http://internal.amazon.com/coral/com.amazon.coral.service/' })).awsCode).toBe('UnrecognizedClientException');
  });

  it('only the x-amzn-query-error header (body without __type)', () => {
    const e = parseErrorResponse('ReceiveMessage', 400, { 'x-amzn-query-error': 'AWS.SimpleQueueService.NonExistentQueue;Sender' }, '{}');
    expect(e).toMatchObject({ code: 'ETL_ERR_SQS_QUEUE_MISSING', kind: 'config', awsCode: 'NonExistentQueue' });
  });

  it('throttling in its several spellings is transient, whatever the status', () => {
    for (const [type, status] of [['com.amazonaws.sqs#ThrottlingException', 400], ['RequestThrottled', 403], ['KmsThrottled', 400], ['OverLimit', 403]] as const) {
      const e = parseErrorResponse('ReceiveMessage', status, JSON_CT, JSON.stringify({ __type: type, message: 'slow down' }));
      expect([type, e.code, e.kind]).toEqual([type, 'ETL_ERR_SQS_THROTTLED', 'transient']);
    }
  });

  it('a 5xx with a non-JSON body (a load balancer page) is a transient server error named by its status', () => {
    const e = parseErrorResponse('ReceiveMessage', 503, { 'content-type': 'text/html' }, '<html><body>503 Service Unavailable</body></html>');
    expect(e).toMatchObject({ code: 'ETL_ERR_SQS_SERVER', kind: 'transient', status: 503, awsCode: undefined, shortCode: 'HTTP503' });
    expect(e.message).toBe('ReceiveMessage: HTTP 503');
    expect(parseErrorResponse('X', 500, {}, '').kind).toBe('transient');
  });

  it('a 429 or 408 without a code is transient; a 403 without one is an access problem', () => {
    expect(parseErrorResponse('X', 429, {}, '').code).toBe('ETL_ERR_SQS_THROTTLED');
    expect(parseErrorResponse('X', 408, {}, 'timeout').code).toBe('ETL_ERR_SQS_THROTTLED');
    expect(parseErrorResponse('X', 403, {}, '').kind).toBe('config');
  });

  it('requests that can never succeed are request faults, never retried', () => {
    for (const type of ['AWS.SimpleQueueService.BatchRequestTooLong', 'BatchRequestTooLong', 'InvalidParameterValue', 'MissingParameter', 'com.amazonaws.sqs#TooManyEntriesInBatchRequest', 'InvalidMessageContents']) {
      const e = parseErrorResponse('SendMessageBatch', 400, JSON_CT, JSON.stringify({ __type: type, message: 'no' }));
      expect([type, e.code, e.kind]).toEqual([type, 'ETL_ERR_SQS_REQUEST', 'request']);
    }
  });

  it('signature, token and credential errors are config faults', () => {
    for (const type of ['SignatureDoesNotMatch', 'InvalidClientTokenId', 'UnrecognizedClientException', 'ExpiredToken', 'IncompleteSignature', 'InvalidSecurity', 'KmsAccessDenied']) {
      expect(parseErrorResponse('X', 400, JSON_CT, JSON.stringify({ __type: type })).kind).toBe('config');
    }
  });

  it('fauxqs prefixes every query code with AWS.SimpleQueueService.; that is recognised too', () => {
    const e = parseErrorResponse('X', 400, { 'x-amzn-query-error': 'AWS.SimpleQueueService.InvalidParameterValue;Sender' }, 'not json');
    expect(e).toMatchObject({ kind: 'request', awsCode: 'InvalidParameterValue' });
  });
});

describe('calls that got no answer', () => {
  const undiciError = (code: string, message: string) => Object.assign(new Error(message), { code });

  it('refused, reset and unresolvable connections are transient network errors', () => {
    for (const code of ['ECONNREFUSED', 'ECONNRESET', 'ENOTFOUND', 'UND_ERR_SOCKET', 'EPIPE']) {
      const e = networkError('ReceiveMessage', undiciError(code, 'boom'));
      expect([code, e.code, e.kind, e.shortCode]).toEqual([code, 'ETL_ERR_SQS_NETWORK', 'transient', code]);
    }
  });

  it('a network code found on the cause (fetch-style errors) is used', () => {
    expect(networkError('X', Object.assign(new Error('fetch failed'), { cause: { code: 'ECONNREFUSED' } })).shortCode).toBe('ECONNREFUSED');
  });

  it('connect, header and body timeouts are transient timeouts that say how long was allowed', () => {
    for (const code of ['UND_ERR_CONNECT_TIMEOUT', 'UND_ERR_HEADERS_TIMEOUT', 'UND_ERR_BODY_TIMEOUT']) {
      const e = networkError('ReceiveMessage', undiciError(code, 'Timeout'), 21_000);
      expect([code, e.code, e.kind]).toEqual([code, 'ETL_ERR_SQS_TIMEOUT', 'transient']);
      expect(e.message).toBe(`ReceiveMessage: no answer within 21000 ms (${code})`);
    }
  });
});

describe('classification of anything thrown', () => {
  it('a ConfigError (no credentials) is config; an untyped error is a bug, never retried', () => {
    expect(classifySqsError(new ConfigError('no AWS credentials'))).toBe('config');
    expect(classifySqsError(new TypeError('x is undefined'))).toBe('request');
  });
});

describe('one line for the user', () => {
  it('a missing queue names the URL and the settings to check, as a ConfigError with our code', () => {
    const e = sqsConfigError(parseErrorResponse('GetQueueAttributes', 400, JSON_CT, JSON.stringify({ __type: 'com.amazonaws.sqs#QueueDoesNotExist' })), Q);
    expect(e).toBeInstanceOf(ConfigError);
    expect(e.exitCode).toBe(2);
    expect(e.code).toBe('ETL_ERR_SQS_QUEUE_MISSING');
    expect(e.message).toBe(`SQS queue ${Q} does not exist; check SQS_QUEUE_URL / SQS_DLQ_URL (and AWS_ENDPOINT_URL_SQS for a local emulator)`);
    expect(e.cause).toBeInstanceOf(SqsError);
  });

  it('refused access, unreachable and silent endpoints each get one line', () => {
    const lines = [
      describeSqsError(parseErrorResponse('X', 403, JSON_CT, JSON.stringify({ __type: 'AccessDenied' })), Q),
      describeSqsError(networkError('X', Object.assign(new Error('x'), { code: 'ECONNREFUSED' })), Q),
      describeSqsError(networkError('X', Object.assign(new Error('x'), { code: 'UND_ERR_HEADERS_TIMEOUT' }), 10_000), Q),
    ];
    expect(lines[0]).toBe(`SQS refused access to ${Q} (AccessDenied); check the AWS credentials, their permissions on the queue, AWS_REGION and the clock`);
    expect(lines[1]).toBe(`cannot reach SQS for ${Q} (ECONNREFUSED); is the endpoint running? Check SQS_QUEUE_URL / AWS_ENDPOINT_URL_SQS`);
    expect(lines[2]).toContain('no answer within 10000 ms');
    for (const l of lines) expect(l).not.toContain('\n');
  });

  it('repeatable warnings are keyed by call and code', () => {
    expect(sqsRepeatKey('ReceiveMessage', parseErrorResponse('ReceiveMessage', 400, JSON_CT, JSON.stringify({ __type: 'com.amazonaws.sqs#ThrottlingException' })))).toBe('sqs:ReceiveMessage:ThrottlingException');
    expect(sqsRepeatKey('DeleteMessageBatch', parseErrorResponse('DeleteMessageBatch', 502, {}, 'Bad Gateway'))).toBe('sqs:DeleteMessageBatch:HTTP502');
    expect(sqsRepeatKey('ReceiveMessage', networkError('ReceiveMessage', Object.assign(new Error('x'), { code: 'UND_ERR_HEADERS_TIMEOUT' })))).toBe('sqs:ReceiveMessage:UND_ERR_HEADERS_TIMEOUT');
  });
});
