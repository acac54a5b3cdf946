import { createHmac } from 'node:crypto';
import { hmacSha256, sha256Hex } from '../hash.js';
import type { CredentialProvider, Credentials } from './credentials.js';

/** A request to sign: a POST of `body` to `path` on `hostname` (with the port, if any, in the `host` header). */
export interface SignableRequest {
  method: string;
  hostname: string;
  /** `/`: SQS's JSON protocol posts every action there (other paths are refused). */
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

const ALGORITHM = 'AWS4-HMAC-SHA256';

let stamped = { second: Number.NaN, stamp: '' };

/** `20150830T123600Z`: SigV4's basic ISO 8601 form, formatted once per second (the regex costs ~0.7 µs per request). */
function amzDate(d: Date): string {
  const second = Math.floor(d.getTime() / 1000);
  if (second !== stamped.second) stamped = { second, stamp: d.toISOString().replace(/[-:]|\.\d{3}/g, '') };
  return stamped.stamp;
}

/** RFC 3986 percent-encoding, as SigV4's canonical query string wants it. */
const uriEncode = (s: string) => encodeURIComponent(s).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);

const canonicalQuery = (q: Record<string, string> | undefined) =>
  q
    ? Object.entries(q)
        .map(([k, v]) => [uriEncode(k), uriEncode(v)] as const)
        .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
        .map(([k, v]) => `${k}=${v}`)
        .join('&')
    : '';

/** A header value as SigV4 signs it: trimmed, inner runs of spaces collapsed. */
const canonicalValue = (v: string) => (/^\s|\s$|\s\s/.test(v) ? v.trim().replace(/\s+/g, ' ') : v);

/**
 * AWS SigV4 (the header form) for SQS's JSON-protocol POSTs, on node:crypto's one-shot SHA-256 and HMAC.
 *
 * Why not a signing library on the hot path (two signed requests per ten messages): bench/signing.ts measures
 * about 34 µs of CPU per request for `@smithy/signature-v4` (the AWS SDK's signer), 11 µs for `aws4` and 6 µs
 * for this; in a receive/delete loop against fauxqs, `aws4` cost some 6 µs per message more than this (its
 * per-request objects: parsed path, header arrays, hash objects, all garbage). It is the algorithm as AWS
 * documents it and nothing else: canonical request, string to sign, the derived key (cached per day, key and
 * secret), the signature. test/unit/sqs-signing.test.ts pins it to AWS's published SigV4 test suite, to a
 * botocore fixture, and to `aws4` (a maintained signer, kept as the test oracle) on random requests.
 */
export function createSigner(o: SignerOptions): Signer {
  let cached: { id: string; sign: (stringToSign: string) => string } | undefined;
  /** kSigning = HMAC chain over date, region, service and "aws4_request", from "AWS4" + secret. */
  function signingKey(c: Credentials, date: string): (stringToSign: string) => string {
    const id = `${date}\n${c.accessKeyId}\n${c.secretAccessKey}`;
    if (cached?.id !== id) {
      let k = createHmac('sha256', `AWS4${c.secretAccessKey}`).update(date).digest();
      for (const part of [o.region, o.service, 'aws4_request']) k = createHmac('sha256', k).update(part).digest();
      cached = { id, sign: hmacSha256(k, 'hex') };
      k.fill(0);
    }
    return cached.sign;
  }

  return async (request, signingDate) => {
    if (request.path !== '/') throw new RangeError(`the SigV4 signer signs requests to "/" only (SQS's JSON protocol), not ${request.path}`);
    const credentials = await o.credentials();
    const datetime = amzDate(signingDate ?? new Date());
    const date = datetime.slice(0, 8);
    const headers: Record<string, string> = {};
    for (const [k, v] of Object.entries(request.headers)) headers[k.toLowerCase()] = v;
    headers['x-amz-date'] = datetime;
    if (credentials.sessionToken) headers['x-amz-security-token'] = credentials.sessionToken;
    const names = Object.keys(headers).sort();
    let canonical = `${request.method}\n/\n${canonicalQuery(request.query)}\n`;
    for (const n of names) canonical += `${n}:${canonicalValue(headers[n] ?? '')}\n`;
    const signedHeaders = names.join(';');
    canonical += `\n${signedHeaders}\n${sha256Hex(request.body ?? '')}`;
    const scope = `${date}/${o.region}/${o.service}/aws4_request`;
    const signature = signingKey(credentials, date)(`${ALGORITHM}\n${datetime}\n${scope}\n${sha256Hex(canonical)}`);
    headers.authorization = `${ALGORITHM} Credential=${credentials.accessKeyId}/${scope}, SignedHeaders=${signedHeaders}, Signature=${signature}`;
    return headers;
  };
}
