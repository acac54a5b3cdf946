import { createRequire } from 'node:module';
import pino, { type DestinationStream, type Logger } from 'pino';
import { createRepeatSummariser } from './repeat.js';
import { stderrStatusLine } from './statusLine.js';

/**
 * Paths censored in every log line, in case a raw event, key or connection string is ever passed in.
 * The code logs message ids and reasons, never bodies; this is the second line of defence.
 */
export const REDACT_PATHS = [
  'ip', 'device_id', '*.ip', '*.device_id', 'body', '*.body', 'Body', '*.Body', 'event', '*.event',
  'key', '*.key', 'keys', 'piiKey', 'piiKeyring', '*.piiKey', '*.piiKeyring', 'PII_KEY', 'PII_KEYRING',
  'password', '*.password', 'databaseUrl', '*.databaseUrl', 'connectionString', '*.connectionString',
  'DATABASE_URL', 'secretAccessKey', '*.secretAccessKey', 'config', '*.config', 'env',
];

export interface LoggerOptions {
  level?: string;
  /** Pretty output (pino-pretty, if installed); defaults to whether stderr is a TTY. */
  pretty?: boolean;
  /** Where lines go; stderr by default, so stdout stays free for results. */
  destination?: DestinationStream;
  /** Window of the repeated-line summaries (see repeat.ts); default 1000 ms. */
  repeatWindowMs?: number;
  /** Loads pino-pretty's line formatter; for tests. */
  loadPretty?: () => PrettyFactory | undefined;
}

type Prettify = (line: string) => string;
type PrettyFactory = (options: Record<string, unknown>) => Prettify;

/**
 * pino-pretty's synchronous line formatter, or undefined when the optional dependency is not installed
 * (a production install may leave it out). Loaded only when pretty output is wanted.
 */
export function loadPinoPretty(require: (id: string) => unknown = createRequire(import.meta.url)): PrettyFactory | undefined {
  try {
    return (require('pino-pretty') as { prettyFactory: PrettyFactory }).prettyFactory;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'MODULE_NOT_FOUND') return undefined;
    throw err;
  }
}

export function createLogger(o: LoggerOptions = {}): Logger {
  const tty = o.destination === undefined && process.stderr.isTTY === true;
  const factory = (o.pretty ?? tty) ? (o.loadPretty ?? loadPinoPretty)() : undefined;
  const prettify = factory?.({
    colorize: tty && !('NO_COLOR' in process.env),
    singleLine: true,
    translateTime: 'SYS:HH:MM:ss.l',
    ignore: 'pid,hostname,service',
  });
  const format: Prettify = prettify ?? ((line) => line);
  // On a TTY every line goes through the status line, so the progress bar stays below the logs.
  const destination: DestinationStream = o.destination
    ? prettify
      ? { write: (line) => void o.destination?.write(prettify(line)) }
      : o.destination
    : tty
      ? { write: (line) => stderrStatusLine().write(format(line)) }
      : pino.destination({ dest: 2, sync: true });
  const repeats = createRepeatSummariser({ windowMs: o.repeatWindowMs });
  return pino(
    {
      level: o.level ?? 'info',
      base: { service: 'login-etl' },
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      hooks: { logMethod: repeats.logMethod },
    },
    destination,
  );
}
