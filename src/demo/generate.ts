/** Deterministic PRNG (mulberry32), so a seed always yields the same data set. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface GeneratedEvents {
  bodies: string[];
  /** How many bodies are valid login events. */
  valid: number;
}

const LOCALES = ['RU', 'PH', 'ID', 'FR', 'PT', 'BR', 'KE', 'PE', 'US', 'DE', 'CN', 'MX', 'PL', 'TH', 'VN'];
const MALFORMED: readonly ((r: () => number) => string)[] = [
  () => JSON.stringify({ foo: 'oops_wrong_msg_type', bar: '123' }),
  () => '{"user_id": "truncated',
  (r) => JSON.stringify({ user_id: uuid(r), device_type: 'ios', ip: '999.12.1.300', device_id: '123-45-6789', locale: 'US', app_version: '1.0.0' }),
  (r) => JSON.stringify({ user_id: uuid(r), device_type: 'android', ip: '10.0.0.1', locale: null, app_version: '2.3.0' }),
  (r) => JSON.stringify({ user_id: uuid(r), device_type: 'ios', ip: '10.0.0.2', device_id: '555-55-5555', app_version: 'v2-beta' }),
];

function uuid(r: () => number): string {
  const h = (n: number) => Array.from({ length: n }, () => Math.floor(r() * 16).toString(16)).join('');
  return `${h(8)}-${h(4)}-4${h(3)}-${'89ab'[Math.floor(r() * 4)]}${h(3)}-${h(12)}`;
}

function appVersion(r: () => number): string | null {
  const d = () => Math.floor(r() * 10);
  const x = r();
  if (x < 0.02) return null;
  if (x < 0.6) return `${d()}.${d()}.${d()}`;
  if (x < 0.85) return `${d()}.${d()}${d()}`;
  return `${d()}.${d()}`;
}

function ip(r: () => number): string {
  const o = () => Math.floor(r() * 256);
  const x = r();
  if (x < 0.9) return `${o()}.${o()}.${o()}.${o()}`;
  const h = () => Math.floor(r() * 65536).toString(16);
  return `2001:db8:${h()}:${h()}::${h()}`;
}

/**
 * `count` message bodies shaped like the reference sample: repeated IPs and devices shared between users,
 * null locales, short app versions, and about `malformedRatio` malformed messages.
 */
export function generateEvents(count: number, seed = 1, malformedRatio = 0.02): GeneratedEvents {
  const r = prng(seed);
  const users = Array.from({ length: Math.max(1, Math.ceil(count / 3)) }, () => uuid(r));
  const ips = Array.from({ length: Math.max(1, Math.ceil(count / 4)) }, () => ip(r));
  const devices = Array.from({ length: Math.max(1, Math.ceil(count / 4)) }, () => {
    const d = (n: number) => Array.from({ length: n }, () => Math.floor(r() * 10)).join('');
    return `${d(3)}-${d(2)}-${d(4)}`;
  });
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)] as T;
  const bodies: string[] = [];
  let valid = 0;
  for (let i = 0; i < count; i++) {
    if (r() < malformedRatio) {
      bodies.push(pick(MALFORMED)(r));
      continue;
    }
    valid++;
    bodies.push(
      JSON.stringify({
        user_id: pick(users),
        app_version: appVersion(r),
        device_type: r() < 0.5 ? 'android' : 'ios',
        ip: pick(ips),
        locale: r() < 0.3 ? null : pick(LOCALES),
        device_id: pick(devices),
      }),
    );
  }
  return { bodies, valid };
}
