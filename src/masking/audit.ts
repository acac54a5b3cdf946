import { appendFileSync } from 'node:fs';
import { hostname, userInfo } from 'node:os';
import type { Logger } from 'pino';
import { ConfigError } from '../config/errors.js';

export interface AuditRecord {
  action: 'reveal' | 'rekey' | 'dlq-reveal';
  field?: string;
  /** reveal, rekey: tokens handled. */
  tokens?: number;
  /** dlq-reveal: the dead letter shown (its source message id and DLQ message id), its queue and reject reason. */
  messageId?: string;
  dlqMessageId?: string;
  queue?: string;
  rejectReason?: string | null;
  outcome: 'ok' | 'refused' | 'incomplete';
  reason?: string;
  /** rekey: rows left unchanged because a token did not decrypt. */
  skipped?: number;
}

function who(): string {
  try {
    return userInfo().username;
  } catch {
    return process.env.USER ?? `uid:${process.getuid?.() ?? '?'}`;
  }
}

/**
 * Writes one audit line (who, when, what, how many) to the log and, if PII_AUDIT_LOG is set, appends it
 * to that file. It never holds plaintext or tokens.
 */
export function audit(log: Logger, r: AuditRecord, file: string | undefined): void {
  const line = { audit: true, ...r, user: who(), host: hostname(), at: new Date().toISOString() };
  // The file first: when it cannot be written, the caller reveals nothing, and the log must not say it did.
  if (file) {
    try {
      appendFileSync(file, `${JSON.stringify(line)}\n`, { mode: 0o600 });
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code ?? 'error';
      throw new ConfigError(`PII_AUDIT_LOG: cannot append to ${file} (${code}); nothing was revealed. Point it (or --audit-log) at a writable file`, 'PII_AUDIT_LOG', { cause: err, code: 'ETL_ERR_AUDIT_LOG' });
    }
  }
  log.info(line, `audit: ${r.action}`);
}
