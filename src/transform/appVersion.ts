const VERSION_RE = /^(\d{1,3})(?:\.(\d{1,3}))?(?:\.(\d{1,3}))?$/;

/**
 * Encodes "major[.minor[.patch]]" (each 0–999) as major*1e6 + minor*1e3 + patch, which sorts like the
 * version and decodes exactly: "2.3.0" → 2003000, "0.96" → 96000. Returns undefined for anything else.
 */
export function encodeAppVersion(text: string): number | undefined {
  const m = VERSION_RE.exec(text);
  if (!m) return undefined;
  return Number(m[1]) * 1_000_000 + Number(m[2] ?? 0) * 1_000 + Number(m[3] ?? 0);
}

/** The inverse of encodeAppVersion, always in "major.minor.patch" form. */
export function decodeAppVersion(n: number): string {
  return `${Math.floor(n / 1_000_000)}.${Math.floor(n / 1_000) % 1_000}.${n % 1_000}`;
}
