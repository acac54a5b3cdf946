import aws4 from 'aws4';
import type { CredentialProvider } from './credentials.js';

/** A request to sign: a POST of `body` to `path` on `hostname` (with the port, if any, in the `host` header). */
export interface SignableRequest {
  method: string;
  hostname: string;
  path: string;
  query?: Record<string, string>;
  headers: Record<string, string>;
  body?: string;
}

export interface SignerOptions {
  service: string;
  region: string;
  credentials: CredentialProvider;
}

/** Signs with AWS SigV4. Returns the request's headers plus `x-amz-date`, `x-amz-security-token` (with a session token) and `authorization`. */
export type Signer = (request: SignableRequest, signingDate?: Date) => Promise<Record<string, string>>;

/** `20150830T123600Z`: SigV4's basic ISO 8601 form. */
const amzDate = (d: Date) => d.toISOString().replace(/[-:]|\.\d{3}/g, '');

/**
 * SigV4 with `aws4` (mhart/aws4): the same signatures as the AWS SDK's `@smithy/signature-v4` (the published
 * test suite and a botocore fixture pin both, test/unit/sqs-signing.test.ts) at about a third of its CPU per
 * request (bench/signing.ts), which on the hot path is two requests per ten messages. We set the headers
 * ourselves (`doNotModifyHeaders`), so only what we send is signed; no x-amz-content-sha256: SQS, like most
 * services, hashes the body itself (only S3 needs it). aws4 caches the derived signing key per day, region,
 * service and secret.
 */
export function createSigner(o: SignerOptions): Signer {
  return async (request, signingDate) => {
    const credentials = await o.credentials();
    const headers: Record<string, string> = { ...request.headers, 'x-amz-date': amzDate(signingDate ?? new Date()) };
    if (credentials.sessionToken) headers['x-amz-security-token'] = credentials.sessionToken;
    const query = request.query && Object.keys(request.query).length > 0 ? `?${new URLSearchParams(request.query).toString()}` : '';
    const signer = new aws4.RequestSigner(
      { method: request.method, host: request.hostname, path: `${request.path}${query}`, service: o.service, region: o.region, headers, body: request.body ?? '', doNotModifyHeaders: true },
      credentials,
    );
    // The date signed is the x-amz-date sent (aws4 otherwise takes the clock again, which can cross a second).
    signer.datetime = headers['x-amz-date'];
    headers.authorization = signer.authHeader();
    return headers;
  };
}
