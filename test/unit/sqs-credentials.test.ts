import { describe, expect, it } from 'vitest';
import { cachedCredentials, credentialProvider, credentialsConfigured, DUMMY_CREDENTIALS, keysFromEnv, type Credentials } from '../../src/source/credentials.js';
import { regionOfHost, resolveSqsEndpoint, resolveTarget } from '../../src/source/endpoint.js';

const MIN = 60_000;

/** A provider that hands out numbered temporary credentials expiring `ttl` after the (fake) clock's now. */
function sts(clock: { now: number }, ttl: number) {
  const calls = { n: 0, fail: false };
  const provider = async (): Promise<Credentials> => {
    calls.n++;
    await new Promise((r) => setTimeout(r, 5));
    if (calls.fail) throw new Error('STS unavailable');
    return { accessKeyId: `AKID${calls.n}`, secretAccessKey: 's', sessionToken: `t${calls.n}`, expiration: new Date(clock.now + ttl) };
  };
  return { provider, calls };
}

describe('credentials are cached and refreshed before they expire', () => {
  it('reuses credentials until 5 minutes before expiry, then refreshes once', async () => {
    const clock = { now: 1_000_000 };
    const { provider, calls } = sts(clock, 60 * MIN);
    const get = cachedCredentials(provider, { now: () => clock.now });
    expect((await get()).accessKeyId).toBe('AKID1');
    clock.now += 54 * MIN;
    expect((await get()).accessKeyId).toBe('AKID1');
    expect(calls.n).toBe(1);
    clock.now += 2 * MIN; // 4 minutes left: inside the refresh window
    expect((await get()).accessKeyId).toBe('AKID2');
    expect((await get()).sessionToken).toBe('t2');
    expect(calls.n).toBe(2);
  });

  it('concurrent calls share one refresh', async () => {
    const clock = { now: 0 };
    const { provider, calls } = sts(clock, 60 * MIN);
    const get = cachedCredentials(provider, { now: () => clock.now });
    const all = await Promise.all(Array.from({ length: 20 }, get));
    expect(new Set(all.map((c) => c.accessKeyId))).toEqual(new Set(['AKID1']));
    expect(calls.n).toBe(1);
  });

  it('keeps using still-valid credentials if a refresh fails, and retries on the next call', async () => {
    const clock = { now: 0 };
    const { provider, calls } = sts(clock, 60 * MIN);
    const get = cachedCredentials(provider, { now: () => clock.now });
    await get();
    clock.now += 57 * MIN;
    calls.fail = true;
    expect((await get()).accessKeyId).toBe('AKID1');
    calls.fail = false;
    expect((await get()).accessKeyId).toBe('AKID3');
  });

  it('fails once the cached credentials have expired and no refresh works', async () => {
    const clock = { now: 0 };
    const { provider, calls } = sts(clock, 10 * MIN);
    const get = cachedCredentials(provider, { now: () => clock.now });
    await get();
    clock.now += 11 * MIN;
    calls.fail = true;
    await expect(get()).rejects.toThrow('STS unavailable');
  });

  it('credentials without an expiry (static keys) are fetched once', async () => {
    let n = 0;
    const get = cachedCredentials(async () => ({ accessKeyId: `K${++n}`, secretAccessKey: 's' }));
    await get();
    await get();
    expect(n).toBe(1);
  });
});

describe('where credentials come from', () => {
  it('a non-AWS endpoint with nothing configured gets dummy credentials, without loading the SDK chain', async () => {
    expect(credentialsConfigured({})).toBe(false);
    expect(await credentialProvider({}, false)()).toBe(DUMMY_CREDENTIALS);
  });

  it("static keys are read from the environment given, as the SDK chain's first link reads them", async () => {
    const env = { AWS_ACCESS_KEY_ID: 'AKIDENV', AWS_SECRET_ACCESS_KEY: 'secret', AWS_SESSION_TOKEN: 'token', AWS_CREDENTIAL_EXPIRATION: '2030-01-02T03:04:05Z' };
    expect(keysFromEnv(env)).toEqual({ accessKeyId: 'AKIDENV', secretAccessKey: 'secret', sessionToken: 'token', expiration: new Date('2030-01-02T03:04:05Z') });
    expect(keysFromEnv({ AWS_ACCESS_KEY_ID: 'AKIDENV', AWS_SECRET_ACCESS_KEY: 'secret' })).toEqual({ accessKeyId: 'AKIDENV', secretAccessKey: 'secret' });
    // Not process.env: the chain would read that one instead.
    expect(process.env.AWS_ACCESS_KEY_ID).not.toBe('AKIDENV');
    expect(await credentialProvider(env, true)()).toMatchObject({ accessKeyId: 'AKIDENV', sessionToken: 'token' });
  });

  it('half a key pair, or AWS_PROFILE beside the keys (the chain then skips them), leaves it to the chain', () => {
    expect(keysFromEnv({ AWS_ACCESS_KEY_ID: 'AKIDENV' })).toBeUndefined();
    expect(keysFromEnv({ AWS_SECRET_ACCESS_KEY: 'secret' })).toBeUndefined();
    expect(keysFromEnv({ AWS_ACCESS_KEY_ID: 'AKIDENV', AWS_SECRET_ACCESS_KEY: 'secret', AWS_PROFILE: 'dev' })).toBeUndefined();
    expect(keysFromEnv({ AWS_ACCESS_KEY_ID: '', AWS_SECRET_ACCESS_KEY: 'secret' })).toBeUndefined();
  });

  it('an empty variable (as docker-compose passes an unset one) names no source; half a key pair does', () => {
    expect(credentialsConfigured({ AWS_ACCESS_KEY_ID: '', AWS_PROFILE: 'dev' })).toBe(true);
    expect(credentialsConfigured({ AWS_ACCESS_KEY_ID: '', AWS_PROFILE: '' })).toBe(false);
    expect(credentialsConfigured({ AWS_SECRET_ACCESS_KEY: 'secret' })).toBe(true);
  });

  it('keys, a profile, a web identity or a container role count as configured', () => {
    for (const env of [{ AWS_ACCESS_KEY_ID: 'x' }, { AWS_PROFILE: 'dev' }, { AWS_WEB_IDENTITY_TOKEN_FILE: '/t' }, { AWS_CONTAINER_CREDENTIALS_FULL_URI: 'http://x' }, { AWS_CONTAINER_CREDENTIALS_RELATIVE_URI: '/v2' }]) {
      expect(credentialsConfigured(env)).toBe(true);
    }
  });
});

describe('endpoint and signing region', () => {
  it('reads the region out of AWS SQS host names', () => {
    expect(regionOfHost('sqs.eu-west-1.amazonaws.com')).toBe('eu-west-1');
    expect(regionOfHost('eu-central-1.queue.amazonaws.com')).toBe('eu-central-1');
    expect(regionOfHost('sqs-fips.us-gov-west-1.amazonaws.com')).toBe('us-gov-west-1');
    expect(regionOfHost('vpce-0abc-xyz.sqs.ap-south-1.vpce.amazonaws.com')).toBe('ap-south-1');
    expect(regionOfHost('sqs.cn-north-1.amazonaws.com.cn')).toBe('cn-north-1');
    expect(regionOfHost('sqs.us-east-1.localhost')).toBeUndefined();
  });

  it("an AWS queue URL in another region than AWS_REGION: requests go to, and are signed for, the URL's region", () => {
    const t = resolveTarget({ queueUrl: 'https://sqs.eu-west-1.amazonaws.com/123456789012/q', region: 'us-east-1' });
    expect(t).toMatchObject({ origin: 'https://sqs.eu-west-1.amazonaws.com', region: 'eu-west-1', aws: true, regionFromQueueUrl: { configured: 'us-east-1', used: 'eu-west-1' } });
    const same = resolveTarget({ queueUrl: 'https://sqs.eu-west-1.amazonaws.com/123456789012/q', region: 'eu-west-1' });
    expect(same.regionFromQueueUrl).toBeUndefined();
    expect(resolveTarget({ queueUrl: 'https://eu-west-2.queue.amazonaws.com/123/q', region: 'us-east-1' }).origin).toBe('https://sqs.eu-west-2.amazonaws.com');
  });

  it('a local emulator: the queue URL origin (or the endpoint set), signed for AWS_REGION, a single server', () => {
    expect(resolveTarget({ queueUrl: 'http://sqs.us-east-1.localhost:4566/000000000000/q', region: 'eu-west-3' })).toMatchObject({ origin: 'http://localhost:4566', region: 'eu-west-3', aws: false });
    expect(resolveTarget({ queueUrl: 'http://localhost:4566/000000000000/q', sqsEndpoint: 'http://127.0.0.1:9324', region: 'us-east-1' })).toMatchObject({ origin: 'http://127.0.0.1:9324', aws: false });
    expect(resolveSqsEndpoint({ queueUrl: 'https://sqs.eu-west-1.amazonaws.com/1/q', region: 'eu-west-1' })).toBeUndefined();
  });

  it('a VPC endpoint set explicitly names its region', () => {
    expect(resolveTarget({ queueUrl: 'https://sqs.ap-south-1.amazonaws.com/1/q', sqsEndpoint: 'https://vpce-0abc.sqs.ap-south-1.vpce.amazonaws.com', region: 'us-east-1' })).toMatchObject({ region: 'ap-south-1', aws: true });
  });
});
