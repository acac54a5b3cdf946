import type { Masker } from '../masking/masker.js';
import { flatten, isPlainObject } from './flatten.js';
import { DEFAULT_FIELD_MAP, mapDepth, SOURCE_COLUMNS, type FieldMap, type SourceColumn } from './mapping.js';
import { rejection, validateEvent, type Rejection } from './validate.js';

/** One row of `user_logins`, ready for the sink. */
export interface LoginRow {
  user_id: string;
  device_type: string;
  masked_ip: string;
  masked_device_id: string;
  locale: string | null;
  app_version: number | null;
  /** UTC date of the message's SentTimestamp, YYYY-MM-DD. */
  create_date: string;
}

export type TransformResult = { ok: true; row: LoginRow } | { ok: false; rejection: Rejection };

export interface Transformer {
  (body: string, sentTimestamp: string | undefined): TransformResult;
}

const DAY_MS = 86_400_000;
let lastDay = NaN;
let lastDate = '';

/** SentTimestamp (epoch ms as text) → UTC date, or undefined when absent or malformed. */
export function utcDate(sentTimestamp: string | undefined): string | undefined {
  if (sentTimestamp === undefined || !/^\d{1,15}$/.test(sentTimestamp)) return undefined;
  // Messages arrive in runs from the same day: format each day once.
  const day = Math.floor(Number(sentTimestamp) / DAY_MS);
  if (day !== lastDay) {
    lastDate = new Date(day * DAY_MS).toISOString().slice(0, 10);
    lastDay = day;
  }
  return lastDate;
}

/** The mapped fields, read through `get` (a flattened lookup, or own properties for the flat mapping). */
function pick(get: (path: string) => unknown, map: FieldMap): Record<SourceColumn, unknown> {
  const out = {} as Record<SourceColumn, unknown>;
  for (const c of SOURCE_COLUMNS) out[c] = get(map[c]);
  return out;
}

/** Builds the pure body → row function: parse, flatten, map, validate, mask. */
export function createTransformer(masker: Masker, fieldMap: FieldMap = DEFAULT_FIELD_MAP): Transformer {
  const depth = mapDepth(fieldMap);
  return (body, sentTimestamp) => {
    let parsed: unknown;
    try {
      parsed = JSON.parse(body);
    } catch {
      return { ok: false, rejection: rejection('invalid_json') };
    }
    if (!isPlainObject(parsed)) return { ok: false, rejection: rejection('not_an_object') };
    // The flat mapping needs no flattening: it reads own top-level properties directly.
    const flat = depth === 1 ? undefined : flatten(parsed, depth);
    const fields = pick(flat ? (p) => flat.get(p) : (p) => (Object.hasOwn(parsed, p) ? parsed[p] : undefined), fieldMap);
    const v = validateEvent(fields);
    if (!v.ok) return v;
    const createDate = utcDate(sentTimestamp);
    if (createDate === undefined) return { ok: false, rejection: rejection('missing_timestamp') };
    const e = v.event;
    return {
      ok: true,
      row: {
        user_id: e.user_id,
        device_type: e.device_type,
        masked_ip: masker.mask('ip', e.ip),
        masked_device_id: masker.mask('device_id', e.device_id),
        locale: e.locale,
        app_version: e.app_version,
        create_date: createDate,
      },
    };
  };
}
