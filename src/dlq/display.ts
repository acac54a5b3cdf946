import { isIP } from 'node:net';
import type { Masker } from '../masking/masker.js';
import type { PiiField } from '../masking/token.js';
import { isPlainObject } from '../transform/flatten.js';
import { canonicalIp } from '../transform/ip.js';
import type { FieldMap } from '../transform/mapping.js';

/**
 * A dead letter's body as `dlq list` and `dlq show` print it without `--reveal`: parsed, with every ip and
 * device id replaced by its token (the configured mask mode and PII_CONTEXT, so it matches the table's).
 * What is masked:
 * - the values at the FIELD_MAP paths of `ip` and `device_id`;
 * - the value of any member, at any depth (arrays included), named like them: `ip`, `device_id` (or the last
 *   segment of their FIELD_MAP paths), and the usual spellings of an address or a device id (`ip_address`,
 *   `clientIp`, `x-forwarded-for`, `deviceId`, `udid`, `idfa`, …), since a renamed field is a common reason
 *   for a reject;
 * - every IPv4 or IPv6 address inside any other string or member name (`"from 10.1.2.3"`).
 * A value at such a member that is not a string, or too long to be masked, is replaced by a note of its type.
 * A body that is not a JSON object or array is not shown at all: it may hold anything. In a top-level array,
 * each object is masked as an event and any other element is not shown.
 */
export type MaskedBody = { ok: true; value: unknown } | { ok: false; why: string };

const IP_NAMES = new Set(['ip', 'ipaddress', 'ipaddr', 'ipv4', 'ipv6', 'clientip', 'remoteip', 'sourceip', 'srcip', 'userip', 'remoteaddr', 'remoteaddress', 'clientaddress', 'xforwardedfor', 'xrealip', 'forwardedfor']);
const DEVICE_NAMES = new Set(['deviceid', 'device', 'deviceuuid', 'udid', 'idfa', 'idfv', 'gaid', 'aaid', 'adid', 'androidid', 'advertisingid', 'imei']);
const norm = (name: string) => name.toLowerCase().replace(/[^a-z0-9]/g, '');

/**
 * IPv6 candidates (colons, hex, maybe an embedded IPv4) and IPv4 dotted quads; each is checked with isIP.
 * Bounded quantifiers only (no super-linear backtracking). An address may be followed by a port
 * (`10.1.2.3:8080`, `http://10.1.2.3:8080/`) or end a sentence (`from 10.1.2.3.`), and an IPv4 address may
 * follow a colon (`ip:10.1.2.3`).
 */
const ADDRESS = /(?<![0-9A-Za-z.:])[0-9A-Fa-f]{0,4}(?::[0-9A-Fa-f]{0,4}){2,7}(?:\.\d{1,3}){0,3}(?![0-9A-Za-z]|[.:][0-9A-Za-z])|(?<![0-9A-Za-z.])\d{1,3}(?:\.\d{1,3}){3}(?![0-9A-Za-z]|\.[0-9A-Za-z])/g;
const IPV4_INSIDE = /(?<![0-9.])\d{1,3}(?:\.\d{1,3}){3}(?![0-9]|\.[0-9])/g;

const typeOf = (v: unknown) => (v === null ? 'null' : Array.isArray(v) ? 'an array' : typeof v === 'object' ? 'an object' : `a ${typeof v}`);

export function createBodyMasker(masker: Masker, fieldMap: FieldMap): (body: string) => MaskedBody {
  const paths = new Map<string, PiiField>([[fieldMap.ip, 'ip'], [fieldMap.device_id, 'device_id']]);
  const names = new Map<string, PiiField>();
  for (const n of IP_NAMES) names.set(n, 'ip');
  for (const n of DEVICE_NAMES) names.set(n, 'device_id');
  names.set(norm(fieldMap.ip.split('.').pop() ?? 'ip'), 'ip');
  names.set(norm(fieldMap.device_id.split('.').pop() ?? 'device_id'), 'device_id');

  const token = (field: PiiField, s: string): string | undefined => {
    const value = field === 'ip' ? (canonicalIp(s) ?? s.trim()) : s.trim();
    try {
      return masker.mask(field, value);
    } catch {
      return undefined; // longer than a token can hold (siv)
    }
  };
  const maskField = (field: PiiField, v: unknown): unknown => {
    if (typeof v === 'string') return token(field, v) ?? `[${field}: ${[...v].length} characters, not shown]`;
    if (v === null) return null;
    return `[${field}: ${typeOf(v)}, not shown]`;
  };
  const maskText = (s: string): string =>
    s.replace(ADDRESS, (m) =>
      isIP(m) !== 0 ? (token('ip', m) ?? '[ip]') : m.replace(IPV4_INSIDE, (q) => (isIP(q) !== 0 ? (token('ip', q) ?? '[ip]') : q)));

  function walk(v: unknown, path: string | undefined): unknown {
    if (typeof v === 'string') return maskText(v);
    if (Array.isArray(v)) return v.map((x) => walk(x, undefined));
    if (!isPlainObject(v)) return v;
    // No prototype: a member named __proto__ stays a member.
    const out = Object.create(null) as Record<string, unknown>;
    for (const [k, x] of Object.entries(v)) {
      const p = path === undefined ? undefined : path === '' ? k : `${path}.${k}`;
      const field = (p !== undefined ? paths.get(p) : undefined) ?? names.get(norm(k));
      out[maskText(k)] = field ? maskField(field, x) : walk(x, p);
    }
    return out;
  }

  return (body) => {
    let parsed: unknown;
    try {
      parsed = JSON.parse(body);
    } catch {
      return { ok: false, why: 'not JSON' };
    }
    if (typeof parsed !== 'object' || parsed === null) return { ok: false, why: `JSON ${typeOf(parsed).replace(/^an? /, '')}, not an object` };
    // A top-level array (events sent as one message): each object in it is masked as an event; a bare
    // value is not shown, since nothing names what it holds (a device id looks like any other text).
    if (Array.isArray(parsed)) return { ok: true, value: parsed.map((x) => (isPlainObject(x) ? walk(x, '') : `[${typeOf(x)}, not shown]`)) };
    return { ok: true, value: walk(parsed, '') };
  };
}
