import { ConfigError } from '../config/errors.js';
import type { Env } from '../config/load.js';
import { SQS_ERROR_CODES } from './errors.js';

/** What signs a request (the AWS SDK's AwsCredentialIdentity, structurally). */
export interface Credentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string | undefined;
  /** When temporary credentials (SSO, STS, IRSA, ECS) stop working. */
  expiration?: Date | undefined;
}

export type CredentialProvider = () => Promise<Credentials>;

/** Local emulators accept any signature; LocalStack reads the account from the access key id. */
export const DUMMY_CREDENTIALS: Credentials = { accessKeyId: 'test', secretAccessKey: 'test' };

/** Variables naming a credential source the SDK chain would use (keys, a profile, a web identity, a container role). */
const SOURCE_VARS = ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_PROFILE', 'AWS_WEB_IDENTITY_TOKEN_FILE', 'AWS_CONTAINER_CREDENTIALS_FULL_URI', 'AWS_CONTAINER_CREDENTIALS_RELATIVE_URI'] as const;

/** Whether the environment names a credential source; an empty value (as docker-compose passes an unset one) names none. */
export function credentialsConfigured(env: Env): boolean {
  return SOURCE_VARS.some((name) => Boolean(env[name]));
}

export interface CacheOptions {
  /** Refresh this long before `expiration` (default 5 minutes, as the SDK does). */
  refreshBeforeMs?: number;
  now?: () => number;
}

/**
 * Caches credentials and refreshes them before they expire, one refresh at a time. If a refresh fails
 * while the cached credentials are still valid, those are used and the refresh is tried again on the next call.
 */
export function cachedCredentials(provider: CredentialProvider, o: CacheOptions = {}): CredentialProvider {
  const before = o.refreshBeforeMs ?? 5 * 60_000;
  const now = o.now ?? Date.now;
  let current: Credentials | undefined;
  let refreshing: Promise<Credentials> | undefined;
  const fresh = (c: Credentials) => c.expiration === undefined || c.expiration.getTime() - now() > before;
  const valid = (c: Credentials) => c.expiration === undefined || c.expiration.getTime() > now();
  const refresh = () =>
    (refreshing ??= provider()
      .then((c) => (current = c))
      .finally(() => {
        refreshing = undefined;
      }));
  return async () => {
    if (current && fresh(current)) return current;
    try {
      return await refresh();
    } catch (err) {
      if (current && valid(current)) return current;
      throw err;
    }
  };
}

const WAYS =
  'set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE (for SSO, run `aws sso login` first), or run with an ECS task role or EKS IRSA / Pod Identity';

/**
 * Static keys from the environment, as the SDK chain's first link (`fromEnv`) reads them, and skipped as it
 * skips them when AWS_PROFILE is set. Importing the chain costs ~65 ms of CPU and of start-up time, which a
 * drain started by cron pays at every start (docs/performance.md); every other source still goes to the chain.
 */
export function keysFromEnv(env: Env): Credentials | undefined {
  const { AWS_ACCESS_KEY_ID: accessKeyId, AWS_SECRET_ACCESS_KEY: secretAccessKey, AWS_SESSION_TOKEN: sessionToken, AWS_CREDENTIAL_EXPIRATION: expiry } = env;
  if (env.AWS_PROFILE || !accessKeyId || !secretAccessKey) return undefined;
  return { accessKeyId, secretAccessKey, ...(sessionToken ? { sessionToken } : {}), ...(expiry ? { expiration: new Date(expiry) } : {}) };
}

/**
 * Credentials for requests to `origin`: against a non-AWS endpoint with nothing configured, dummy ones;
 * otherwise static keys from the environment, or else the AWS SDK's own provider chain (profiles and SSO,
 * web identity / IRSA, ECS and EKS Pod Identity container credentials, EC2 instance metadata), imported only
 * now, cached and refreshed.
 * No credentials from any source is a ConfigError naming the ways to provide them.
 */
export function credentialProvider(env: Env, awsEndpoint: boolean, warn?: (message: string) => void): CredentialProvider {
  if (!awsEndpoint && !credentialsConfigured(env)) return () => Promise.resolve(DUMMY_CREDENTIALS);
  const keys = keysFromEnv(env);
  if (keys) return () => Promise.resolve(keys);
  let chain: CredentialProvider | undefined;
  return cachedCredentials(async () => {
    if (!chain) {
      if (env.AWS_PROFILE && env.AWS_ACCESS_KEY_ID && env.AWS_SECRET_ACCESS_KEY) warn?.(PROFILE_OVER_KEYS);
      const { fromNodeProviderChain } = await import('@aws-sdk/credential-providers');
      chain = fromNodeProviderChain({ logger: chainLogger(warn) }) as CredentialProvider;
    }
    try {
      return await chain();
    } catch (err) {
      const name = (err as Error).name;
      if (name !== 'CredentialsProviderError' && name !== 'TokenProviderError') throw err;
      const why = (err as Error).message.split('\n')[0]?.slice(0, 200);
      const profile = env.AWS_PROFILE ? ` (AWS_PROFILE=${env.AWS_PROFILE}: ${why}; check that the profile exists: \`aws configure list-profiles\`)` : '';
      throw new ConfigError(`no AWS credentials found for SQS${profile}${halfKeyPair(env)}; ${WAYS}`, 'AWS_PROFILE', { cause: err, code: SQS_ERROR_CODES.noCredentials });
    }
  });
}

const PROFILE_OVER_KEYS = 'AWS_PROFILE is set, so AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY in the environment are not used (the AWS SDK\'s rule); unset one or the other';

/** The SDK chain's warnings as one line each (its "multiple credential sources" one is PROFILE_OVER_KEYS); its debug output dropped. */
function chainLogger(warn?: (message: string) => void) {
  const quiet = () => {};
  const oneLine = (...args: unknown[]) => {
    const text = args.map(String).join(' ').trim();
    if (warn && text !== '' && !text.includes('Multiple credential sources')) warn(text.split('\n')[0] ?? text);
  };
  return { trace: quiet, debug: quiet, info: quiet, warn: oneLine, error: oneLine };
}

/** Which half of the key pair is missing, when only one is set (the chain then ignores both). */
function halfKeyPair(env: Env): string {
  const id = Boolean(env.AWS_ACCESS_KEY_ID);
  if (env.AWS_PROFILE || id === Boolean(env.AWS_SECRET_ACCESS_KEY)) return '';
  return id ? ' (AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not)' : ' (AWS_SECRET_ACCESS_KEY is set but AWS_ACCESS_KEY_ID is not)';
}
