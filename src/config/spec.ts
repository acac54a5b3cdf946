import { z } from 'zod';
import { formatCount } from '../format.js';

/** The reference LocalStack queue and Postgres, used when nothing is configured. */
export const REFERENCE_QUEUE_URL = 'http://localhost:4566/000000000000/login-queue';
export const REFERENCE_DATABASE_URL = 'postgres://postgres:postgres@localhost:5432/postgres';

/** Each whole-number setting's range, as its messages and the docs write it. */
const INT_RANGES = new WeakMap<z.ZodType, string>();
/**
 * A whole-number setting from `min` to `max`, in decimal digits only: `0x10` and `1e3` are refused rather than
 * read as 16 and 1000. Every fault, `2.5` and `-5` included, gives the range (counts grouped, `1–10,000`;
 * ports not, `0–65535`).
 */
const int = (min: number, max: number, show: (n: number) => string = formatCount) => {
  const range = `${show(min)}–${show(max)}`;
  const error = `must be a whole number from ${show(min)} to ${show(max)}`;
  const schema = z.preprocess(
    (v) => (typeof v === 'string' && /^\s*\d+\s*$/.test(v) ? Number(v) : v),
    z.number({ error }).int({ error }).min(min, { error }).max(max, { error }),
  );
  INT_RANGES.set(schema, range);
  return schema;
};
const port = (min: number) => int(min, 65535, String);
const url = z.string().refine((s) => URL.canParse(s), 'must be a URL such as http://host:port/path');
const bool = z
  .preprocess((v) => (typeof v === 'string' ? v.trim().toLowerCase() : v), z.union([z.boolean(), z.enum(['true', 'false', '1', '0', 'yes', 'no'])]))
  .transform((v) => v === true || v === 'true' || v === '1' || v === 'yes');

/**
 * Every setting the tool reads: its environment variable, optional CLI flag, default and meaning.
 * This table is the single source of truth; the README's configuration table is checked against it.
 */
export const SETTINGS = {
  queueUrl: {
    env: 'SQS_QUEUE_URL', flag: '--queue-url <url>', default: REFERENCE_QUEUE_URL, schema: url,
    doc: 'Source queue URL.',
  },
  dlqUrl: {
    env: 'SQS_DLQ_URL', flag: '--dlq-url <url>', default: undefined, schema: url.optional(),
    doc: 'Dead-letter queue for rejected messages: another queue of the source\'s type (FIFO or standard; checked at start-up). Unset: rejects stay on the source queue for its own redrive policy (`drain`, `run` and `doctor` warn if it has none).',
  },
  dlqBody: {
    env: 'DLQ_BODY', flag: '--dlq-body <mode>', default: 'encrypted', schema: z.enum(['encrypted', 'raw']),
    doc: "`encrypted`: a dead letter's body is compressed and encrypted (AES-256-GCM) under the keyring's `dlq` subkey, so the DLQ holds no readable ip or device_id; read it with `login-etl dlq list` / `dlq show`. `raw`: the original body, PII included (docs/privacy.md).",
  },
  sqsEndpoint: {
    env: 'AWS_ENDPOINT_URL_SQS', alsoEnv: ['AWS_ENDPOINT_URL'], flag: '--endpoint <url>', default: undefined,
    schema: url.optional(),
    doc: "SQS endpoint. Unset and the queue URL is not an AWS host: the queue URL's origin.",
  },
  region: {
    env: 'AWS_REGION', alsoEnv: ['AWS_DEFAULT_REGION'], flag: '--region <name>', default: 'us-east-1',
    schema: z.string().regex(/^[a-z0-9-]+$/, 'must be an AWS region name such as us-east-1'),
    doc: "AWS region. Credentials come from the AWS SDK chain; for a non-AWS endpoint without credentials, dummy ones are used. An AWS queue URL's own region wins.",
  },
  receivers: {
    env: 'SQS_RECEIVERS', flag: '--receivers <n>', default: 8, schema: int(1, 64),
    doc: 'Concurrent long-poll ReceiveMessage loops.',
  },
  waitTimeSeconds: {
    env: 'SQS_WAIT_TIME_SECONDS', flag: '--wait-time <s>', default: 20, schema: int(0, 20),
    doc: 'Long-poll wait of each receive in `run`.',
  },
  drainWaitTimeSeconds: {
    env: 'DRAIN_WAIT_TIME_SECONDS', flag: '--drain-wait-time <s>', default: 1, schema: int(0, 20),
    doc: 'Long-poll wait of each receive in `drain`. How a drain decides the queue is empty: see Delivery guarantees.',
  },
  visibilityTimeoutSeconds: {
    env: 'SQS_VISIBILITY_TIMEOUT', flag: '--visibility-timeout <s>', default: 30, schema: int(2, 43200),
    doc: 'Visibility timeout asked for on receive; the heartbeat extends it for messages still in flight.',
  },
  sqsTimeoutMs: {
    env: 'SQS_TIMEOUT_MS', flag: '--sqs-timeout <ms>', default: 10000, schema: int(100, 600000),
    doc: "Connect timeout of each SQS call, and the time it may take to answer beyond a long poll's wait; past it the call is retried with back-off.",
  },
  maxInFlight: {
    env: 'MAX_IN_FLIGHT', flag: '--max-in-flight <n>', default: 1000, schema: int(10, 100000),
    doc: 'Hard bound on messages received but not yet deleted: room for each receive of 10 is reserved before it is made.',
  },
  batchSize: {
    env: 'BATCH_SIZE', flag: '--batch-size <n>', default: 250, schema: int(1, 10000),
    doc: 'Rows per Postgres transaction, at most half of MAX_IN_FLIGHT; a batch flushes when it is this full…',
  },
  batchMaxAgeMs: {
    env: 'BATCH_MAX_AGE_MS', flag: '--batch-max-age <ms>', default: 200, schema: int(1, 60000),
    doc: '…or when its oldest row is this old. Rejects wait as long, at most, to share a SendMessageBatch to the DLQ.',
  },
  sinkConcurrency: {
    env: 'SINK_CONCURRENCY', flag: '--sink-concurrency <n>', default: 2, schema: int(1, 32),
    doc: 'Batches written to Postgres at once (pool size is this plus one).',
  },
  shutdownTimeoutMs: {
    env: 'SHUTDOWN_TIMEOUT_MS', flag: '--shutdown-timeout <ms>', default: 20000, schema: int(0, 600000),
    doc: 'On SIGTERM/SIGINT, time allowed to flush, commit and delete; unfinished work reappears on the queue.',
  },
  retryBaseMs: {
    env: 'RETRY_BASE_MS', default: 200, schema: int(1, 60000),
    doc: 'First back-off after a Postgres or SQS failure (doubles, with full jitter); at most RETRY_MAX_MS.',
  },
  retryMaxMs: {
    env: 'RETRY_MAX_MS', default: 15000, schema: int(1, 600000),
    doc: 'Longest back-off between retries.',
  },
  databaseUrl: {
    env: 'DATABASE_URL', flag: '--database-url <url>', default: undefined,
    schema: z.string().regex(/^postgres(ql)?:\/\//, 'must start with postgres:// or postgresql://').optional(),
    doc: `PostgreSQL connection string; percent-encode special characters in the password. Verified TLS (\`verify-full\`) to any host that is not loopback unless \`sslmode=disable\`; \`sslrootcert\` names the CA file (docs/operations.md, TLS); \`connect_timeout\` (or PGCONNECT_TIMEOUT) bounds each connection attempt, in seconds (default 10). Unset: DATABASE_URL_FILE, else the \`PG*\` variables if any are set, else \`${REFERENCE_DATABASE_URL}\`. A password given with the flag shows in the process list.`,
  },
  databaseUrlFile: {
    env: 'DATABASE_URL_FILE', flag: '--database-url-file <path>', default: undefined, schema: z.string().min(1).optional(),
    doc: 'File holding the PostgreSQL connection string (e.g. a mounted secret), used when DATABASE_URL is unset; the key-file rule applies (PII_STRICT_KEY_FILES). `PGPASSFILE` (libpq password file) works too.',
  },
  allowUnverifiedTls: {
    env: 'DATABASE_ALLOW_UNVERIFIED_TLS', flag: '--allow-unverified-tls', default: false, schema: bool,
    doc: 'Accept database TLS settings that skip the server certificate check (`sslmode=no-verify`, `uselibpqcompat=true&sslmode=require`, …); refused otherwise. `doctor` still fails them.',
  },
  ledgerRetentionDays: {
    env: 'LEDGER_RETENTION_DAYS', default: 15, schema: int(1, 3650),
    doc: 'Days a processed MessageId stays in the idempotency ledger (longer than the 14-day SQS maximum retention).',
  },
  ledgerPruneIntervalMs: {
    env: 'LEDGER_PRUNE_INTERVAL_MS', default: 3_600_000, schema: int(1000, 86_400_000),
    doc: 'How often `run` prunes the ledger.',
  },
  piiKey: {
    env: 'PII_KEY', default: undefined, secret: true, schema: z.string().optional(),
    doc: 'Masking key: base64 of 32 to 64 random bytes (`login-etl keygen`). Key version 1.',
  },
  piiKeyFile: {
    env: 'PII_KEY_FILE', flag: '--key-file <path>', default: undefined, schema: z.string().min(1).optional(),
    doc: 'File holding the base64 key (e.g. a mounted secret). Must be private to the process (see PII_STRICT_KEY_FILES).',
  },
  piiKeyring: {
    env: 'PII_KEYRING', default: undefined, secret: true, schema: z.string().optional(),
    doc: 'JSON keyring with several versioned keys, one primary, plaintext or wrapped by AWS KMS (see docs/privacy.md). Overrides PII_KEY.',
  },
  piiKeyringFile: {
    env: 'PII_KEYRING_FILE', flag: '--keyring-file <path>', default: undefined, schema: z.string().min(1).optional(),
    doc: 'File holding the JSON keyring (a KMS-wrapped one holds no secret).',
  },
  piiMaskMode: {
    env: 'PII_MASK_MODE', flag: '--mask-mode <mode>', default: 'hmac', schema: z.enum(['hmac', 'siv']),
    doc: '`hmac`: irreversible HMAC-SHA-256 tokens. `siv`: reversible AES-SIV tokens (`login-etl reveal`).',
  },
  piiContext: {
    env: 'PII_CONTEXT', flag: '--pii-context <name>', default: undefined,
    schema: z.string().max(128, 'must be at most 128 characters').regex(/^[^\p{Cc}]*$/u, 'must be printable text').optional(),
    doc: 'Dataset or tenant name mixed into every masking subkey, so datasets masked with one key cannot be joined on their tokens. Unset: tokens as without it. Changing it starts a new token epoch.',
  },
  strictKeyFiles: {
    env: 'PII_STRICT_KEY_FILES', flag: '--strict', default: false, schema: bool,
    doc: "Refuse (instead of warn about) key files that others, another owner, or a group the process is not in can access (docs/privacy.md).",
  },
  auditLogFile: {
    env: 'PII_AUDIT_LOG', flag: '--audit-log <path>', default: undefined, schema: z.string().min(1).optional(),
    doc: '`reveal` and `rekey` append one JSON audit line per use here (they always log it too).',
  },
  fieldMap: {
    env: 'FIELD_MAP', flag: '--field-map <json>', default: undefined, schema: z.string().optional(),
    doc: 'JSON object column → dotted source path, e.g. `{"ip":"client.ip"}`; unlisted columns keep the flat reference path.',
  },
  logLevel: {
    env: 'LOG_LEVEL', flag: '--log-level <level>', default: 'info',
    schema: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']),
    doc: 'pino log level. Logs are JSON lines on stderr; on a TTY, one readable line each (if pino-pretty is installed). Repeated warnings are summarised once a second.',
  },
  metricsPort: {
    env: 'METRICS_PORT', flag: '--metrics-port <port>', default: 9464, schema: port(0),
    doc: '`run` serves /healthz, /readyz and /metrics here (0: any free port).',
  },
  metricsHost: {
    env: 'METRICS_HOST', default: undefined, schema: z.string().min(1).optional(),
    doc: 'Address the HTTP endpoints bind to. Unset: every address, IPv6 and IPv4 (IPv4 only where the kernel has no IPv6), so probes work on IPv6-only clusters too.',
  },
} as const satisfies Record<string, Setting>;

export interface Setting {
  env: string;
  alsoEnv?: readonly string[];
  flag?: string;
  default: unknown;
  secret?: boolean;
  schema: z.ZodType;
  doc: string;
}

export type SettingKey = keyof typeof SETTINGS;

/** Every environment variable the tool reads, including the AWS/PG ones it passes through. */
export const KNOWN_ENV = new Set<string>([
  ...Object.values(SETTINGS).flatMap((s: Setting) => [s.env, ...(s.alsoEnv ?? [])]),
  'AWS_ENDPOINT_URL_KMS', 'AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN', 'AWS_PROFILE',
  'PGHOST', 'PGPORT', 'PGUSER', 'PGPASSWORD', 'PGDATABASE', 'PGSSLMODE', 'PGSSLROOTCERT', 'PGSSLCERT', 'PGSSLKEY', 'PGPASSFILE', 'PGAPPNAME',
]);

/** A setting's flag as the user types it (`--key-file`), without its argument; undefined for variable-only settings. */
export const flagName = (s: Setting): string | undefined => s.flag?.split(' ')[0];

/** A whole-number setting's range as `--help` and the README show it (`1–10,000`); undefined for other settings. */
export function rangeText(s: Setting): string | undefined {
  return INT_RANGES.get(s.schema);
}

/** Where a masking key can come from, in the order the first one set is used (masking/keyring.ts). */
export const KEY_SOURCES = ['piiKeyring', 'piiKeyringFile', 'piiKey', 'piiKeyFile'] as const satisfies readonly SettingKey[];
/** The key sources a command-line flag can give. */
export type KeyFlag = 'piiKeyFile' | 'piiKeyringFile';
