import { Hash } from '@smithy/hash-node';
import { SignatureV4 } from '@smithy/signature-v4';
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

/** Signs with AWS SigV4, using the signer the AWS SDK itself uses. Adds `x-amz-date`, `x-amz-security-token` and `authorization`. */
export type Signer = (request: SignableRequest, signingDate?: Date) => Promise<Record<string, string>>;

const Sha256 = Hash.bind(null, 'sha256');

export function createSigner(o: SignerOptions): Signer {
  // No x-amz-content-sha256 header: SQS, like most services, takes the payload hash from the body (only S3 needs it).
  const signer = new SignatureV4({ service: o.service, region: o.region, credentials: o.credentials, sha256: Sha256, applyChecksum: false });
  return async (request, signingDate) => {
    const signed = await signer.sign({ protocol: 'https:', query: {}, ...request }, signingDate ? { signingDate } : {});
    return signed.headers as Record<string, string>;
  };
}
