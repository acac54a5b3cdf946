import pino, { type DestinationStream, type Logger } from 'pino';
import pretty from 'pino-pretty';

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
  /** Pretty output; defaults to whether stderr is a TTY. */
  pretty?: boolean;
  /** Where lines go; stderr by default, so stdout stays free for results. */
  destination?: DestinationStream;
}

export function createLogger(o: LoggerOptions = {}): Logger {
  const usePretty = o.pretty ?? (process.stderr.isTTY === true && o.destination === undefined);
  const options = { level: o.level ?? 'info', base: { service: 'login-etl' }, redact: { paths: REDACT_PATHS, censor: '[redacted]' } };
  if (usePretty) return pino(options, pretty({ destination: 2, sync: true, colorize: true, ignore: 'pid,hostname,service' }));
  return pino(options, o.destination ?? pino.destination({ dest: 2, sync: true }));
}
