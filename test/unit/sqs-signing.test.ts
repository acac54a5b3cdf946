import aws4 from 'aws4';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { jsonRequest } from '../../src/source/client.js';
import { createSigner, type SignableRequest } from '../../src/source/signer.js';

/**
 * AWS Signature Version 4 test suite (aws-sig-v4-test-suite, published by AWS with the SigV4 documentation):
 * its POST cases, with the suite's credentials, region, service and date. Expected values are the suite's
 * `.authz` files.
 */
const SUITE = {
  credentials: { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY' },
  region: 'us-east-1',
  service: 'service',
  date: new Date('2015-08-30T12:36:00Z'),
};
const HOST = 'example.amazonaws.com';
const base = (extra: Partial<SignableRequest> = {}, headers: Record<string, string> = {}): SignableRequest => ({
  method: 'POST',
  hostname: HOST,
  path: '/',
  headers: { host: HOST, 'x-amz-date': '20150830T123600Z', ...headers },
  ...extra,
});
const authz = (signedHeaders: string, signature: string) =>
  `AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=${signedHeaders}, Signature=${signature}`;
const STS_TOKEN =
  'AQoDYXdzEPT//////////wEXAMPLEtc764bNrC9SAPBSM22wDOk4x4HIZ8j4FZTwdQWLWsKWHGBuFqwAeMicRXmxfpSPfIeoIYRqTflfKD8YUuwthAx7mSEI/qkPpKPi/kMcGdQrmGdeehM4IC1NtBmUpp2wUE8phUZampKsburEDy0KPkyQDYwT7WZ0wq5VSXDvp75YU9HFvlRd8Tx6q6fE8YQcHNVXAkiY9q6d+xo0rKwT38xVqr7ZD0u0iPPkUL64lIZbqBAz+scqKmlzm8FDrypNC9Yjc8fPOLn9FX9KSYvKTr4rvx3iSIlTJabIQwj2ICCR/oLxBA==';

describe('SigV4 signing: the published test suite (POST cases)', () => {
  const cases: [string, SignableRequest, string, string?][] = [
    ['post-vanilla', base(), authz('host;x-amz-date', '5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b')],
    ['post-vanilla-query', base({ query: { Param1: 'value1' } }), authz('host;x-amz-date', '28038455d6de14eafc1f9222cf5aa6f1a96197d7deb8263271d420d138af7f11')],
    ['post-header-key-sort', base({}, { 'my-header1': 'value1' }), authz('host;my-header1;x-amz-date', 'c5410059b04c1ee005303aed430f6e6645f61f4dc9e1461ec8f8916fdf18852c')],
    ['post-header-value-case', base({}, { 'my-header1': 'VALUE1' }), authz('host;my-header1;x-amz-date', 'cdbc9802e29d2942e5e10b5bccfdd67c5f22c7c4e8ae67b53629efa58b974b7d')],
    ['post-x-www-form-urlencoded', base({ body: 'Param1=value1' }, { 'content-type': 'application/x-www-form-urlencoded' }), authz('content-type;host;x-amz-date', 'ff11897932ad3f4e8b18135d722051e5ac45fc38421b1da7b9d196a0fe09473a')],
    ['post-x-www-form-urlencoded-parameters', base({ body: 'Param1=value1' }, { 'content-type': 'application/x-www-form-urlencoded; charset=utf8' }), authz('content-type;host;x-amz-date', '1a72ec8f64bd914b0e42e42607c7fbce7fb2c7465f63e3092b3b0d39fa77a6fe')],
    ['post-sts-header-before (session token signed in)', base(), authz('host;x-amz-date;x-amz-security-token', '85d96828115b5dc0cfc3bd16ad9e210dd772bbebba041836c64533a82be05ead'), STS_TOKEN],
  ];
  it.each(cases)('%s', async (_name, request, expected, sessionToken) => {
    const sign = createSigner({ service: SUITE.service, region: SUITE.region, credentials: async () => ({ ...SUITE.credentials, sessionToken }) });
    const headers = await sign(request, SUITE.date);
    expect(headers.authorization).toBe(expected);
    expect(headers['x-amz-date']).toBe('20150830T123600Z');
    if (sessionToken) expect(headers['x-amz-security-token']).toBe(sessionToken);
    else expect(headers['x-amz-security-token']).toBeUndefined();
  });
});

/**
 * An SQS JSON-protocol request, built by the client's own `jsonRequest`. The expected values were computed
 * once, independently, with Python's botocore (1.43.11) `botocore.auth.SigV4Auth(Credentials(AKIDEXAMPLE,
 * <suite secret>, token), 'sqs', 'us-east-1').add_auth(AWSRequest('POST', 'https://sqs.us-east-1.amazonaws.com/',
 * data=BODY, headers={Content-Type, X-Amz-Target, x-amzn-query-mode}))` with the clock fixed at
 * 2015-08-30T12:36:00Z (botocore.auth.get_current_datetime patched).
 */
describe('SigV4 signing: an SQS JSON-protocol POST (fixture from botocore)', () => {
  const BODY =
    '{"QueueUrl":"https://sqs.us-east-1.amazonaws.com/123456789012/login-queue","MaxNumberOfMessages":10,"WaitTimeSeconds":20,"VisibilityTimeout":30,"MessageSystemAttributeNames":["SentTimestamp"]}';
  const request = () =>
    jsonRequest(
      new URL('https://sqs.us-east-1.amazonaws.com'),
      'ReceiveMessage',
      JSON.stringify({
        QueueUrl: 'https://sqs.us-east-1.amazonaws.com/123456789012/login-queue',
        MaxNumberOfMessages: 10,
        WaitTimeSeconds: 20,
        VisibilityTimeout: 30,
        MessageSystemAttributeNames: ['SentTimestamp'],
      }),
    );

  it('builds the body the fixture was signed over', () => {
    expect(request().body).toBe(BODY);
  });

  it('matches botocore without a session token', async () => {
    const sign = createSigner({ service: 'sqs', region: 'us-east-1', credentials: async () => SUITE.credentials });
    const headers = await sign(request(), SUITE.date);
    expect(headers.authorization).toBe(
      'AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/sqs/aws4_request, SignedHeaders=content-type;host;x-amz-date;x-amz-target;x-amzn-query-mode, Signature=76ce35749801ba0d48e9517ecde65906f2af6c724d682d81eb179f23c704e535',
    );
  });

  it('matches botocore with a session token, which is signed in', async () => {
    const sign = createSigner({ service: 'sqs', region: 'us-east-1', credentials: async () => ({ ...SUITE.credentials, sessionToken: STS_TOKEN }) });
    const headers = await sign(request(), SUITE.date);
    expect(headers['x-amz-security-token']).toBe(STS_TOKEN);
    expect(headers.authorization).toBe(
      'AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/sqs/aws4_request, SignedHeaders=content-type;host;x-amz-date;x-amz-security-token;x-amz-target;x-amzn-query-mode, Signature=850a979a1888f29e43ab77916d9e972a588803c461919524a67d6d878865b104',
    );
  });

  it('a changed body, region or key changes the signature', async () => {
    const good = await createSigner({ service: 'sqs', region: 'us-east-1', credentials: async () => SUITE.credentials })(request(), SUITE.date);
    const r = request();
    r.body = BODY.replace('20', '19');
    const otherBody = await createSigner({ service: 'sqs', region: 'us-east-1', credentials: async () => SUITE.credentials })(r, SUITE.date);
    const otherRegion = await createSigner({ service: 'sqs', region: 'eu-west-1', credentials: async () => SUITE.credentials })(request(), SUITE.date);
    const otherKey = await createSigner({ service: 'sqs', region: 'us-east-1', credentials: async () => ({ ...SUITE.credentials, secretAccessKey: 'x' }) })(request(), SUITE.date);
    for (const h of [otherBody, otherRegion, otherKey]) expect(h.authorization).not.toBe(good.authorization);
  });
});

/** aws4 (mhart/aws4), a maintained SigV4 signer, as the oracle: the same signature for any request of our shape. */
describe('SigV4 signing: the same as aws4 on random JSON-protocol requests', () => {
  const region = fc.constantFrom('us-east-1', 'eu-west-1', 'ap-southeast-2', 'us-gov-west-1');
  const action = fc.constantFrom('ReceiveMessage', 'DeleteMessageBatch', 'ChangeMessageVisibilityBatch', 'SendMessageBatch', 'GetQueueAttributes');
  const date = fc.date({ min: new Date('2000-01-01T00:00:00Z'), max: new Date('2099-12-31T23:59:59Z'), noInvalidDate: true });
  const secret = fc.string({ minLength: 1, maxLength: 60, unit: 'binary-ascii' });
  const token = fc.option(fc.base64String({ minLength: 4, maxLength: 400 }), { nil: undefined });
  const host = fc.constantFrom('sqs.us-east-1.amazonaws.com', 'localhost:4566', '127.0.0.1:9324', 'vpce-0a1b.sqs.eu-west-1.vpce.amazonaws.com');

  it('equals aws4 for any body, action, date, region, host, key and session token', async () => {
    await fc.assert(
      fc.asyncProperty(region, action, date, secret, token, host, fc.string({ unit: 'grapheme', maxLength: 300 }), async (r, a, d, sk, st, h, text) => {
        const body = JSON.stringify({ QueueUrl: `https://${h}/123456789012/q`, Text: text });
        const request = jsonRequest(new URL(`https://${h}`), a, body);
        const credentials = { accessKeyId: 'AKIDEXAMPLE', secretAccessKey: sk, sessionToken: st };
        const ours = await createSigner({ service: 'sqs', region: r, credentials: async () => credentials })(request, d);
        const headers: Record<string, string> = { ...request.headers, 'x-amz-date': ours['x-amz-date'] ?? '' };
        if (st) headers['x-amz-security-token'] = st;
        const oracle = new aws4.RequestSigner({ method: 'POST', host: request.hostname, path: '/', service: 'sqs', region: r, headers, body, doNotModifyHeaders: true }, credentials);
        oracle.datetime = headers['x-amz-date'];
        expect(ours.authorization).toBe(oracle.authHeader());
      }),
      { numRuns: 300 },
    );
  });

  it('keeps signing right across days and key changes (the derived key is cached per day, region, service and key)', async () => {
    let credentials = { accessKeyId: 'AKID1', secretAccessKey: 'one' };
    const sign = createSigner({ service: 'sqs', region: 'us-east-1', credentials: async () => credentials });
    const request = jsonRequest(new URL('https://sqs.us-east-1.amazonaws.com'), 'ReceiveMessage', '{}');
    const oracle = (d: Date) => {
      const headers = { ...request.headers, 'x-amz-date': d.toISOString().replace(/[-:]|\.\d{3}/g, '') };
      const s = new aws4.RequestSigner({ method: 'POST', host: request.hostname, path: '/', service: 'sqs', region: 'us-east-1', headers, body: '{}', doNotModifyHeaders: true }, credentials);
      s.datetime = headers['x-amz-date'];
      return s.authHeader();
    };
    for (const d of [new Date('2026-12-04T23:59:59Z'), new Date('2026-12-05T00:00:00Z')]) expect((await sign(request, d)).authorization).toBe(oracle(d));
    credentials = { accessKeyId: 'AKID2', secretAccessKey: 'two' };
    const d = new Date('2026-12-05T00:00:01Z');
    expect((await sign(request, d)).authorization).toBe(oracle(d));
  });

  it('refuses a path other than "/" rather than sign it wrongly', async () => {
    const sign = createSigner({ service: 'sqs', region: 'us-east-1', credentials: async () => SUITE.credentials });
    await expect(sign({ ...jsonRequest(new URL('https://example.com'), 'X', '{}'), path: '/a/b' })).rejects.toThrow(/signs requests to "\/" only/);
  });
});
