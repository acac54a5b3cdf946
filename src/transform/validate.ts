import { z } from 'zod';
import { MAX_VALUE_BYTES } from '../masking/masker.js';
import { encodeAppVersion } from './appVersion.js';
import { canonicalIp } from './ip.js';
import type { SourceColumn } from './mapping.js';

/** Stable reject codes: they label DLQ messages, logs and metrics, so never rename one. */
export const REJECT_REASONS = [
  'invalid_json',
  'not_an_object',
  'missing_field',
  'invalid_type',
  'invalid_text',
  'empty_field',
  'too_long',
  'invalid_ip',
  'invalid_app_version',
  'missing_timestamp',
  'db_rejected',
] as const;
export type RejectReason = (typeof REJECT_REASONS)[number];

const isReason = (s: string): s is RejectReason => (REJECT_REASONS as readonly string[]).includes(s);

/** Text Postgres can store exactly: well-formed UTF-16 (no lone surrogates) and no NUL. */
const text = () =>
  z.string().refine((s) => s.isWellFormed() && !s.includes('\0'), 'invalid_text');
const nonBlank = (max: number) =>
  text().refine((s) => s.trim().length > 0, 'empty_field').refine((s) => s.length <= max, 'too_long');

/** One login event, as mapped from the message body. Types below are derived from it. */
export const LoginEventSchema = z.object({
  user_id: nonBlank(128),
  device_type: nonBlank(32),
  ip: text().transform((s, ctx) => canonicalIp(s) ?? (ctx.addIssue({ code: 'custom', message: 'invalid_ip' }), z.NEVER)),
  device_id: text()
    .transform((s) => s.trim())
    .refine((s) => s.length > 0, 'empty_field')
    .refine((s) => Buffer.byteLength(s) <= MAX_VALUE_BYTES.device_id, 'too_long'),
  locale: text().refine((s) => s.length <= 32, 'too_long').nullish().transform((v) => v ?? null),
  app_version: text()
    .transform((s, ctx) => encodeAppVersion(s) ?? (ctx.addIssue({ code: 'custom', message: 'invalid_app_version' }), z.NEVER))
    .nullish()
    .transform((v) => v ?? null),
});
export type LoginEvent = z.output<typeof LoginEventSchema>;

const HUMAN: Record<RejectReason, string> = {
  invalid_json: 'body is not valid JSON',
  not_an_object: 'body is not a JSON object',
  missing_field: 'required field is missing or null',
  invalid_type: 'field has the wrong type (expected a string)',
  invalid_text: 'field contains a NUL or an unpaired surrogate',
  empty_field: 'field is empty',
  too_long: 'field is longer than its column allows',
  invalid_ip: 'not a valid IPv4 or IPv6 address',
  invalid_app_version: 'expected 1–3 dot-separated integers, each 0–999',
  missing_timestamp: 'message has no SentTimestamp attribute',
  db_rejected: 'PostgreSQL rejected the row',
};

export interface Rejection {
  reason: RejectReason;
  /** Safe to log: names the field and the rule, never the value. */
  detail: string;
}

export const rejection = (reason: RejectReason, field?: string): Rejection => ({
  reason,
  detail: field ? `${field}: ${HUMAN[reason]}` : HUMAN[reason],
});

/** Validates mapped fields; the first problem becomes the message's single reject reason. */
export function validateEvent(fields: Record<SourceColumn, unknown>): { ok: true; event: LoginEvent } | { ok: false; rejection: Rejection } {
  const parsed = LoginEventSchema.safeParse(fields);
  if (parsed.success) return { ok: true, event: parsed.data };
  const issue = parsed.error.issues[0];
  const field = String(issue?.path[0] ?? '');
  const raw = fields[field as SourceColumn];
  let reason: RejectReason = 'invalid_type';
  if (issue?.code === 'invalid_type') reason = raw === undefined || raw === null ? 'missing_field' : 'invalid_type';
  else if (issue && isReason(issue.message)) reason = issue.message;
  return { ok: false, rejection: rejection(reason, field) };
}
