import type { KMSClient } from '@aws-sdk/client-kms';
import { ConfigError } from '../config/errors.js';
import type { Env } from '../config/load.js';
import { LoginEtlError } from '../errors.js';
import { credentialsConfigured, DUMMY_CREDENTIALS } from '../source/credentials.js';
import { weakKeyReason } from './keys.js';

/**
 * Envelope encryption with AWS KMS: each keyring version is a data key wrapped under one KMS key, with an
 * encryption context naming the app, the purpose and the version. KMS refuses to unwrap a blob with any
 * other context or under any other key, so a blob cannot be moved to another version, app or key.
 */
export const encryptionContext = (version: number): Record<string, string> => ({
  app: 'login-etl',
  purpose: 'pii-masking-key',
  version: String(version),
});

/** The calls login-etl makes; a KMSClient, or anything that sends KMS commands the same way. */
export type KmsSender = Pick<KMSClient, 'send'>;

// The same test as for SQS endpoints (source/client.ts): AWS's own hosts.
const AWS_HOST = /(^|\.)(amazonaws\.com(\.cn)?|api\.aws)$/i;
const FIXABLE = new Set([
  'AccessDeniedException', 'IncorrectKeyException', 'InvalidCiphertextException', 'NotFoundException', 'DisabledException',
  'KMSInvalidStateException', 'InvalidKeyUsageException', 'KeyUnavailableException', 'InvalidGrantTokenException',
  'UnrecognizedClientException', 'InvalidClientTokenId', 'InvalidSignatureException', 'SignatureDoesNotMatch',
  'ExpiredTokenException', 'ExpiredToken', 'CredentialsProviderError', 'ValidationException',
]);
const HINT: Record<string, string> = {
  IncorrectKeyException: 'the blob was wrapped under another KMS key than kmsKeyId',
  InvalidCiphertextException: 'the blob is damaged, or belongs to another key version or app: its encryption context does not match',
  AccessDeniedException: 'grant this identity kms:Decrypt on kmsKeyId (docs/privacy.md has the key policy); also the answer when the blob belongs to another KMS key',
  NotFoundException: 'no such KMS key or alias in this region; check kmsKeyId and AWS_REGION',
  DisabledException: 'the KMS key is disabled; enable it',
  KMSInvalidStateException: 'the KMS key is pending deletion or not usable; cancel the deletion or use another key',
  CredentialsProviderError: 'no AWS credentials: set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, AWS_PROFILE, or run with an IAM role (EKS IRSA / Pod Identity, ECS task role, instance profile)',
};

interface AwsLikeError { name?: string; code?: string; message?: string; cause?: { code?: string }; $metadata?: { httpStatusCode?: number } }

/** One line for a KMS failure: the AWS error name, its message, and what to do. Never key material. */
export function describeKmsError(err: unknown): string {
  const e = (err ?? {}) as AwsLikeError;
  const net = e.code ?? e.cause?.code;
  if (net === 'ECONNREFUSED' || net === 'ENOTFOUND' || net === 'ETIMEDOUT' || e.name === 'TimeoutError') {
    return `cannot reach KMS (${net ?? e.name}); check AWS_ENDPOINT_URL_KMS / AWS_ENDPOINT_URL and the network`;
  }
  const status = e.$metadata?.httpStatusCode;
  // The SDK's names for an answer it could not read as KMS's (a body that is not JSON, an error without a type).
  if ((e.name === 'Unknown' || e.name === 'UnknownError' || e.name === 'SyntaxError') && status !== undefined) {
    return `the endpoint answered HTTP ${status}, not as KMS does: is AWS_ENDPOINT_URL_KMS (or AWS_ENDPOINT_URL) a KMS endpoint?`;
  }
  const name = e.name ?? 'Error';
  const msg = (e.message ?? '').split('\n')[0]?.trim();
  const hint = HINT[name];
  return `${name}${msg && msg !== name && msg !== 'UnknownError' ? `: ${msg.replace(/[.\s]+$/, '')}` : ''}${hint ? `; ${hint}` : ''}`;
}

/** True for KMS failures the user fixes (keys, grants, blobs, credentials); false for ones worth retrying later. */
export function kmsFailureIsFixable(err: unknown): boolean {
  const e = (err ?? {}) as AwsLikeError;
  return FIXABLE.has(e.name ?? '');
}

/** A KMS failure as the error the CLI prints: exit 2 when the user can fix it, else 1. */
export function kmsError(prefix: string, err: unknown, setting?: string): LoginEtlError {
  const line = `${prefix}: ${describeKmsError(err)}`;
  return kmsFailureIsFixable(err)
    ? new ConfigError(line, setting, { cause: err, code: 'ETL_ERR_KMS' })
    : new LoginEtlError('ETL_ERR_KMS_UNAVAILABLE', line, { cause: err });
}

/** The region of a key ARN (`arn:aws:kms:eu-west-1:…`), which wins over AWS_REGION for that key. */
export function kmsRegion(kmsKeyId: string, fallback: string): string {
  return /^arn:aws[a-z-]*:kms:([a-z0-9-]+):/.exec(kmsKeyId)?.[1] ?? fallback;
}

/**
 * A KMS client, imported only when a keyring needs one. The endpoint is the SDK's own choice
 * (AWS_ENDPOINT_URL_KMS, then AWS_ENDPOINT_URL, then `endpoint_url` in the AWS config, then AWS); credentials
 * come from the SDK's default chain, or are dummy ones for a non-AWS endpoint when none are set (moto, LocalStack).
 */
export async function createKmsClient(region: string, env: Env = process.env): Promise<KMSClient> {
  const { KMSClient } = await import('@aws-sdk/client-kms');
  const ignore = env.AWS_IGNORE_CONFIGURED_ENDPOINT_URLS === 'true';
  const endpoint = ignore ? undefined : (env.AWS_ENDPOINT_URL_KMS || env.AWS_ENDPOINT_URL) || undefined;
  const local = endpoint !== undefined && URL.canParse(endpoint) && !AWS_HOST.test(new URL(endpoint).hostname);
  return new KMSClient({
    region,
    maxAttempts: 3,
    // A black-holed endpoint must not hang start-up.
    requestHandler: { connectionTimeout: 5_000, requestTimeout: 10_000 },
    ...(local && !credentialsConfigured(env) ? { credentials: DUMMY_CREDENTIALS } : {}),
  });
}

/** kms:Decrypt of one wrapped version, KeyId pinned and the version's encryption context. Throws the SDK error. */
export async function unwrapDataKey(kms: KmsSender, kmsKeyId: string, version: number, wrapped: Uint8Array): Promise<Buffer> {
  const { DecryptCommand } = await import('@aws-sdk/client-kms');
  const r = await kms.send(new DecryptCommand({ CiphertextBlob: wrapped, KeyId: kmsKeyId, EncryptionContext: encryptionContext(version) }));
  if (!r.Plaintext) throw new Error('KMS returned no plaintext');
  const key = Buffer.from(r.Plaintext);
  r.Plaintext.fill(0);
  return key;
}

export interface WrappedEntry {
  version: number;
  /** base64 of the KMS ciphertext blob. */
  wrapped: string;
}

/** kms:GenerateDataKey for a new 32-byte key version: the wrapped entry, and the plaintext (to compare, in tests). */
export async function generateWrappedKey(kms: KmsSender, kmsKeyId: string, version: number): Promise<{ entry: WrappedEntry; plaintext: Buffer }> {
  const { GenerateDataKeyCommand } = await import('@aws-sdk/client-kms');
  for (;;) {
    const r = await kms.send(new GenerateDataKeyCommand({ KeyId: kmsKeyId, KeySpec: 'AES_256', EncryptionContext: encryptionContext(version) }));
    if (!r.Plaintext || !r.CiphertextBlob) throw new Error('KMS returned no data key');
    const plaintext = Buffer.from(r.Plaintext);
    r.Plaintext.fill(0);
    // As keygen: never hand out a key the loader would refuse (a chance below 10⁻¹⁴).
    if (weakKeyReason(plaintext)) continue;
    return { entry: { version, wrapped: Buffer.from(r.CiphertextBlob).toString('base64') }, plaintext };
  }
}

/** kms:Encrypt of an existing key under the version's context: moving a keyring into KMS keeps its tokens. */
export async function wrapDataKey(kms: KmsSender, kmsKeyId: string, version: number, key: Uint8Array): Promise<WrappedEntry> {
  const { EncryptCommand } = await import('@aws-sdk/client-kms');
  const r = await kms.send(new EncryptCommand({ KeyId: kmsKeyId, Plaintext: key, EncryptionContext: encryptionContext(version) }));
  if (!r.CiphertextBlob) throw new Error('KMS returned no ciphertext');
  return { version, wrapped: Buffer.from(r.CiphertextBlob).toString('base64') };
}
