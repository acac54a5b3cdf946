import { randomBytes } from 'node:crypto';
import { CreateAliasCommand, CreateKeyCommand, KMSClient } from '@aws-sdk/client-kms';
import { inject } from 'vitest';

/** The moto_server KMS endpoint started by globalSetup. */
export const kmsEndpoint = (): string => inject('kmsEndpoint');

/** A KMS client for moto: dummy credentials, the test endpoint. */
export const kmsClient = (): KMSClient =>
  new KMSClient({ region: 'us-east-1', endpoint: kmsEndpoint(), credentials: { accessKeyId: 'test', secretAccessKey: 'test' } });

/** A new symmetric KMS key and an alias for it; returns the alias name and the key ARN. */
export async function freshKmsKey(kms: KMSClient): Promise<{ alias: string; arn: string; keyId: string }> {
  const meta = (await kms.send(new CreateKeyCommand({ Description: 'login-etl test' }))).KeyMetadata;
  const alias = `alias/login-etl-${randomBytes(4).toString('hex')}`;
  await kms.send(new CreateAliasCommand({ AliasName: alias, TargetKeyId: meta?.KeyId ?? '' }));
  return { alias, arn: meta?.Arn ?? '', keyId: meta?.KeyId ?? '' };
}

/** Environment for a CLI subprocess that talks to moto's KMS the way a user would: the SDK's own variable. */
export const kmsEnv = (): Record<string, string> => ({ AWS_ENDPOINT_URL_KMS: kmsEndpoint(), AWS_REGION: 'us-east-1' });
