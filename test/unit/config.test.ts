import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/config/errors.js';
import { checkBatchFits, loadConfig } from '../../src/config/load.js';
import { REFERENCE_QUEUE_URL } from '../../src/config/spec.js';
import { resolveSqsEndpoint } from '../../src/source/client.js';
import { resolveConnection } from '../../src/sink/connection.js';

describe('loadConfig', () => {
  it('applies defaults from one place', () => {
    const c = loadConfig({});
    expect(c).toMatchObject({ queueUrl: REFERENCE_QUEUE_URL, region: 'us-east-1', batchSize: 250, batchMaxAgeMs: 200, piiMaskMode: 'hmac', metricsPort: 9464 });
    expect(c.dlqUrl).toBeUndefined();
  });

  it('reads yes/no switches as true, false, 1, 0, yes or no (any case), and says so when given anything else', () => {
    for (const [v, want] of [['true', true], ['1', true], ['yes', true], ['false', false], ['0', false], ['no', false]] as const) {
      expect(loadConfig({ PII_STRICT_KEY_FILES: v }).strictKeyFiles, v).toBe(want);
    }
    expect(() => loadConfig({ PII_STRICT_KEY_FILES: 'on' })).toThrow(new ConfigError('PII_STRICT_KEY_FILES (--strict) must be true or false (or 1 or 0, yes or no)', 'PII_STRICT_KEY_FILES'));
  });

  it('lets flags win over the environment', () => {
    expect(loadConfig({ BATCH_SIZE: '100' }, { batchSize: '7' }).batchSize).toBe(7);
    expect(loadConfig({ AWS_ENDPOINT_URL: 'http://a:1' }).sqsEndpoint).toBe('http://a:1');
    expect(loadConfig({ AWS_ENDPOINT_URL: 'http://a:1', AWS_ENDPOINT_URL_SQS: 'http://b:2' }).sqsEndpoint).toBe('http://b:2');
  });

  it.each([
    [{ SQS_RECEIVERS: '0' }, 'SQS_RECEIVERS (--receivers) must be a whole number from 1 to 64'],
    [{ BATCH_SIZE: 'many' }, 'BATCH_SIZE (--batch-size) must be a whole number from 1 to 10,000'],
    [{ SQS_QUEUE_URL: 'not a url' }, 'SQS_QUEUE_URL (--queue-url) must be a URL'],
    [{ PII_MASK_MODE: 'md5' }, 'PII_MASK_MODE (--mask-mode) must be one of: hmac, siv'],
    [{ PII_CONTEXT: 'x'.repeat(129) }, 'PII_CONTEXT (--pii-context) must be at most 128 characters'],
    [{ DATABASE_URL: 'mysql://x' }, 'DATABASE_URL (--database-url) must start with postgres://'],
  ])('%j fails with one line naming the variable', (env, message) => {
    expect(() => loadConfig(env)).toThrow(ConfigError);
    expect(() => loadConfig(env)).toThrow(message);
  });

  it('refuses a BATCH_SIZE over half of MAX_IN_FLIGHT, which no batch could fill while another is written', () => {
    expect(() => checkBatchFits(loadConfig({ BATCH_SIZE: '500' }))).not.toThrow();
    expect(() => checkBatchFits(loadConfig({ BATCH_SIZE: '1000', MAX_IN_FLIGHT: '2000' }))).not.toThrow();
    expect(() => checkBatchFits(loadConfig({ BATCH_SIZE: '501' }))).toThrow(
      new ConfigError(
        'BATCH_SIZE (--batch-size) is 501 but MAX_IN_FLIGHT (--max-in-flight) is 1000: BATCH_SIZE may be at most half of MAX_IN_FLIGHT, because a batch fills only from messages received and not yet deleted, and the next one must fill while one is written; lower BATCH_SIZE (default 250) or raise MAX_IN_FLIGHT to at least 1002',
        'BATCH_SIZE',
      ),
    );
    const flags = { batchSize: '300', maxInFlight: '500' };
    expect(() => checkBatchFits(loadConfig({}, flags), flags)).toThrow('--batch-size is 300 but --max-in-flight is 500: ');
  });

  it('reads true/false in any case, and calls an empty path empty', () => {
    expect(loadConfig({ PII_STRICT_KEY_FILES: 'TRUE' }).strictKeyFiles).toBe(true);
    expect(loadConfig({ PII_STRICT_KEY_FILES: ' No ' }).strictKeyFiles).toBe(false);
    expect(() => loadConfig({}, { piiKeyFile: '' })).toThrow(new ConfigError('--key-file must not be empty', 'PII_KEY_FILE'));
  });

  it('takes whole numbers as decimal digits only, and gives the range for anything else', () => {
    expect(loadConfig({ SQS_RECEIVERS: '12' }).receivers).toBe(12);
    expect(loadConfig({ SQS_RECEIVERS: ' 12 ' }).receivers).toBe(12);
    expect(loadConfig({ SQS_RECEIVERS: '' }).receivers).toBe(8); // empty: unset
    expect(loadConfig({ METRICS_PORT: '0' }).metricsPort).toBe(0);
    // A port is written as ports are, 65535, like PGPORT's message; counts are grouped (10,000).
    expect(() => loadConfig({ METRICS_PORT: '65536' })).toThrow(new ConfigError('METRICS_PORT (--metrics-port) must be a whole number from 0 to 65535', 'METRICS_PORT'));
    // Number() would read these as 16, 1000, 2.5, -5 and 0.
    for (const v of ['0x10', '1e3', '2.5', '-5', '0b1', '12abc']) {
      expect(() => loadConfig({ SQS_RECEIVERS: v }), v).toThrow(new ConfigError('SQS_RECEIVERS (--receivers) must be a whole number from 1 to 64', 'SQS_RECEIVERS'));
    }
    expect(() => loadConfig({}, { shutdownTimeoutMs: '' })).toThrow('--shutdown-timeout must be a whole number from 0 to 600,000');
    expect(() => loadConfig({ MAX_IN_FLIGHT: '1000000' })).toThrow('MAX_IN_FLIGHT (--max-in-flight) must be a whole number from 10 to 100,000');
  });

  it('names the flag when the flag was wrong, and never echoes a secret value', () => {
    expect(() => loadConfig({}, { receivers: '99' })).toThrow('--receivers must be a whole number from 1 to 64');
    try {
      loadConfig({ DATABASE_URL: 'mysql://user:hunter2@db/x' });
    } catch (err) {
      expect((err as Error).message).not.toContain('hunter2');
    }
  });
});

describe('endpoints and targets', () => {
  it('uses the queue origin for non-AWS hosts, the SDK default for AWS', () => {
    expect(resolveSqsEndpoint({ queueUrl: REFERENCE_QUEUE_URL, region: 'us-east-1' })).toBe('http://localhost:4566');
    expect(resolveSqsEndpoint({ queueUrl: 'http://sqs.us-east-1.localhost:9324/000000000000/q', region: 'us-east-1' })).toBe('http://localhost:9324');
    expect(resolveSqsEndpoint({ queueUrl: 'https://sqs.eu-west-1.amazonaws.com/123456789012/q', region: 'eu-west-1' })).toBeUndefined();
    expect(resolveSqsEndpoint({ queueUrl: REFERENCE_QUEUE_URL, sqsEndpoint: 'http://e:1', region: 'us-east-1' })).toBe('http://e:1');
  });

  it('falls back to PG* variables, then the reference database; targets never carry the password', () => {
    expect(resolveConnection({}, {}).target).toEqual({ user: 'postgres', host: 'localhost', port: 5432, database: 'postgres', passwordFrom: 'DATABASE_URL', urlFrom: 'DATABASE_URL' });
    const fromVars = resolveConnection({}, { PGHOST: 'db', PGUSER: 'etl', PGPASSWORD: 'pw', PGSSLMODE: 'disable' });
    expect(fromVars.target).toEqual({ user: 'etl', host: 'db', port: 5432, database: 'etl', passwordFrom: 'PGPASSWORD', urlFrom: 'the PG* variables' });
    expect(fromVars.config.host).toBeUndefined(); // node-postgres reads the PG* variables itself
    const c = resolveConnection({ databaseUrl: 'postgres://u:secret@h:6543/d?sslmode=disable' }, {});
    expect(c.target).toEqual({ user: 'u', host: 'h', port: 6543, database: 'd', passwordFrom: 'DATABASE_URL', urlFrom: 'DATABASE_URL' });
    expect(JSON.stringify(c)).not.toContain('secret');
  });
});
