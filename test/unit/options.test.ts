import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { addSettingOptions, configFrom } from '../../src/cli/options.js';

const parsed = (cmd: Command, args: string[]): Command => cmd.exitOverride().parse(args, { from: 'user' });

describe('configFrom', () => {
  it('reads a setting flag the command declared, the flag winning over the environment', () => {
    const cmd = parsed(addSettingOptions(new Command('drain'), ['batchSize', 'maxInFlight']), ['--batch-size', '40']);
    expect(configFrom(cmd, { BATCH_SIZE: '30' }).batchSize).toBe(40);
  });

  it("does not read a command's own option as the setting that shares its flag", () => {
    // rekey's --batch-size counts rows per rekey transaction: it is not BATCH_SIZE, whose bounds it would fail.
    const cmd = parsed(addSettingOptions(new Command('rekey').option('--batch-size <n>', 'rows per transaction'), ['databaseUrl']), ['--batch-size', '20000']);
    expect(configFrom(cmd, {}).batchSize).toBe(250);
  });

  it('checks BATCH_SIZE against MAX_IN_FLIGHT only for a command that batches', () => {
    const drain = parsed(addSettingOptions(new Command('drain'), ['batchSize', 'maxInFlight']), []);
    expect(() => configFrom(drain, { BATCH_SIZE: '501' })).toThrow('BATCH_SIZE (--batch-size) is 501 but MAX_IN_FLIGHT (--max-in-flight) is 1000: ');
    const report = parsed(addSettingOptions(new Command('report'), ['databaseUrl']), []);
    expect(configFrom(report, { BATCH_SIZE: '501' }).batchSize).toBe(501);
  });

  it('checks RETRY_BASE_MS against RETRY_MAX_MS only for a command that retries', () => {
    const drain = parsed(addSettingOptions(new Command('drain'), ['batchSize', 'maxInFlight']), []);
    const swapped = { RETRY_BASE_MS: '20000', RETRY_MAX_MS: '500' };
    expect(() => configFrom(drain, swapped)).toThrow(
      'RETRY_BASE_MS is 20000 but RETRY_MAX_MS is 500: the first back-off cannot be longer than the longest; lower RETRY_BASE_MS (default 200) or raise RETRY_MAX_MS to at least 20000',
    );
    expect(configFrom(drain, { RETRY_BASE_MS: '500', RETRY_MAX_MS: '500' }).retryMaxMs).toBe(500);
    const report = parsed(addSettingOptions(new Command('report'), ['databaseUrl']), []);
    expect(configFrom(report, swapped).retryBaseMs).toBe(20000);
  });

  it("reads the settings a parent command declared, for its subcommands", () => {
    const parent = addSettingOptions(new Command('dlq'), ['dlqUrl']);
    const child = parent.command('list').action(() => undefined);
    parsed(parent, ['--dlq-url', 'http://127.0.0.1:1/000000000000/dead', 'list']);
    expect(configFrom(child, {}).dlqUrl).toBe('http://127.0.0.1:1/000000000000/dead');
  });
});

describe('setting flags in --help', () => {
  it("show each whole-number setting's range beside its variable and default", () => {
    const help = addSettingOptions(new Command('drain'), ['batchSize', 'metricsPort', 'queueUrl']).helpInformation({ error: false }).replace(/\s+/g, ' ');
    expect(help).toContain('[env BATCH_SIZE; default 250; 1–10,000]');
    expect(help).toContain('[env METRICS_PORT; default 9464; 0–65535]');
    expect(help).toMatch(/\[env SQS_QUEUE_URL; default "[^"]+"\]/);
  });
});

describe('configuration errors', () => {
  it('name a flag only where the command has it', () => {
    const drain = parsed(addSettingOptions(new Command('drain'), ['batchSize', 'maxInFlight', 'drainWaitTimeSeconds']), []);
    expect(() => configFrom(drain, { SQS_WAIT_TIME_SECONDS: '21' })).toThrow(/^SQS_WAIT_TIME_SECONDS must be a whole number from 0 to 20$/);
    expect(() => configFrom(drain, { DRAIN_WAIT_TIME_SECONDS: '21' })).toThrow(/^DRAIN_WAIT_TIME_SECONDS \(--drain-wait-time\) must be a whole number from 0 to 20$/);
    const rekey = parsed(addSettingOptions(new Command('rekey').option('--batch-size <n>', 'rows per transaction'), ['databaseUrl']), []);
    expect(() => configFrom(rekey, { BATCH_SIZE: 'abc' })).toThrow(/^BATCH_SIZE must be a whole number from 1 to 10,000$/);
  });
});
