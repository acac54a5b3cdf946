/**
 * Characters a terminal acts on rather than prints: C0 and C1 controls (ESC starts a colour or cursor sequence,
 * CSI U+009B does on some terminals, CR and BS overwrite what was printed) and the bidirectional formatting marks
 * that reorder text on screen. Text from producers (device_type, locale, …) must never send them raw.
 */
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069]/g;

const hex = (c: string) => c.charCodeAt(0).toString(16).toUpperCase();

/** Escapes terminal control characters for display: ESC → `\x1B`, U+202E → `\u202E`. */
export const escapeControl = (s: string): string =>
  s.replace(UNSAFE, (c) => (c.charCodeAt(0) < 0x100 ? `\\x${hex(c).padStart(2, '0')}` : `\\u${hex(c).padStart(4, '0')}`));

/** JSON.stringify, with the controls it leaves raw (DEL, C1, bidi marks) written as \u escapes too: same value, safe on a terminal. */
export const safeJson = (value: unknown, space?: number): string =>
  JSON.stringify(value, null, space).replace(UNSAFE, (c) => (c === '\n' ? c : `\\u${hex(c).padStart(4, '0')}`));
