import { isIPv4, isIPv6 } from 'node:net';

const MAPPED_V4 = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/;

/**
 * Trims and canonicalises an IP address: IPv4 as dotted quad, IPv6 lower-case and compressed (RFC 5952),
 * IPv4-mapped IPv6 as plain IPv4. Returns undefined when the text is not an address (zone ids included).
 */
export function canonicalIp(raw: string): string | undefined {
  const s = raw.trim();
  if (isIPv4(s)) return s;
  if (!isIPv6(s) || s.includes('%')) return undefined;
  const compressed = new URL(`http://[${s}]/`).hostname.slice(1, -1);
  const mapped = MAPPED_V4.exec(compressed);
  if (!mapped) return compressed;
  const hi = parseInt(mapped[1] ?? '0', 16);
  const lo = parseInt(mapped[2] ?? '0', 16);
  return [hi >> 8, hi & 0xff, lo >> 8, lo & 0xff].join('.');
}
