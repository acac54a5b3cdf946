import { appendFileSync } from 'node:fs';
import { hostname, userInfo } from 'node:os';
import type { Logger } from 'pino';

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
  log.info(line, `audit: ${r.action}`);
  if (file) appendFileSync(file, `${JSON.stringify(line)}\n`, { mode: 0o600 });
}
