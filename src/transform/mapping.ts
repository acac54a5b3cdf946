import { ConfigError } from '../config/errors.js';

export const SOURCE_COLUMNS = ['user_id', 'device_type', 'ip', 'device_id', 'locale', 'app_version'] as const;
export type SourceColumn = (typeof SOURCE_COLUMNS)[number];
/** Column → dotted path in the (flattened) message body. */
export type FieldMap = Readonly<Record<SourceColumn, string>>;

/** The flat reference shape: each column is a top-level field of the same name. */
export const DEFAULT_FIELD_MAP: FieldMap = Object.fromEntries(SOURCE_COLUMNS.map((c) => [c, c])) as Record<SourceColumn, string>;

/** Parses FIELD_MAP JSON; unlisted columns keep their default path. */
export function parseFieldMap(json: string | undefined): FieldMap {
  if (json === undefined) return DEFAULT_FIELD_MAP;
  let data: unknown;
  try {
    data = JSON.parse(json);
  } catch {
    throw new ConfigError('FIELD_MAP is not valid JSON (expected e.g. {"ip":"client.ip"})', 'FIELD_MAP');
  }
  if (typeof data !== 'object' || data === null || Array.isArray(data)) {
    throw new ConfigError('FIELD_MAP must be a JSON object of column → dotted path', 'FIELD_MAP');
  }
  const map: Record<string, string> = { ...DEFAULT_FIELD_MAP };
  for (const [column, path] of Object.entries(data)) {
    if (!(SOURCE_COLUMNS as readonly string[]).includes(column)) {
      throw new ConfigError(`FIELD_MAP names unknown column "${column}" (known: ${SOURCE_COLUMNS.join(', ')})`, 'FIELD_MAP');
    }
    if (typeof path !== 'string' || !/^[^.]+(\.[^.]+)*$/.test(path)) {
      throw new ConfigError(`FIELD_MAP path for ${column} must be a dotted path such as "client.ip"`, 'FIELD_MAP');
    }
    map[column] = path;
  }
  return map as FieldMap;
}

export const mapDepth = (map: FieldMap): number => Math.max(...Object.values(map).map((p) => p.split('.').length));
