import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Writable } from 'node:stream';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { createLogger } from '../../src/observability/logger.js';
import { flushRepeats } from '../../src/observability/repeat.js';

interface Line {
  level: number;
  msg: string;
  repeat?: string;
  repeated?: number;
  reason?: string;
  messageId?: string;
  [k: string]: unknown;
}

/** A real pino logger writing JSON lines into memory. */
function capture(level = 'debug') {
  const chunks: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _enc, cb) {
      chunks.push(chunk.toString());
      cb();
    },
  });
  const log = createLogger({ level, pretty: false, destination });
  const lines = () =>
    chunks
      .join('')
      .split('\n')
      .filter((l) => l !== '')
      .map((l) => JSON.parse(l) as Line);
  return { log, lines };
}

const reject = (log: ReturnType<typeof capture>['log'], i: number, reason: string) =>
  log.warn({ messageId: `m-${i}`, reason, detail: 'x', repeat: `reject:${reason}` }, 'message rejected');

describe('repeated log lines (real pino output)', () => {
  beforeEach(() => {
    vi.useFakeTimers();
  });
  afterEach(() => {
    flushRepeats();
    vi.useRealTimers();
  });

  it('logs the first line of a key in full, counts the rest, and reports them once at the end of the 1 s window', () => {
    const { log, lines } = capture();
    for (let i = 0; i < 100; i++) reject(log, i, 'invalid_json');
    expect(lines()).toHaveLength(1);
    expect(lines()[0]).toMatchObject({ level: 40, msg: 'message rejected', messageId: 'm-0', reason: 'invalid_json', repeat: 'reject:invalid_json' });

    vi.advanceTimersByTime(999);
    expect(lines()).toHaveLength(1);
    vi.advanceTimersByTime(1);
    const all = lines();
    expect(all).toHaveLength(2);
    expect(all[1]).toMatchObject({ level: 40, repeat: 'reject:invalid_json', repeated: 99, msg: 'message rejected: 99 more like this in the last 1 s' });
    // The summary carries no message id or detail of the lines it counted.
    expect(all[1]?.messageId).toBeUndefined();
  });

  it('keeps one window per key, and starts a new one (logged in full) after the window', () => {
    const { log, lines } = capture();
    for (let i = 0; i < 10; i++) reject(log, i, i % 2 ? 'invalid_ip' : 'missing_field');
    expect(lines().map((l) => l.reason)).toEqual(['missing_field', 'invalid_ip']);
    vi.advanceTimersByTime(1000);
    expect(lines().slice(2).map((l) => [l.repeat, l.repeated])).toEqual([
      ['reject:missing_field', 4],
      ['reject:invalid_ip', 4],
    ]);
    reject(log, 10, 'invalid_ip');
    expect(lines().at(-1)).toMatchObject({ messageId: 'm-10', repeat: 'reject:invalid_ip' });
    // A window with nothing counted reports nothing.
    vi.advanceTimersByTime(5000);
    expect(lines()).toHaveLength(5);
  });

  it('passes lines without a repeat key through, every one, and keeps the level of the summarised ones', () => {
    const { log, lines } = capture();
    for (let i = 0; i < 5; i++) log.warn({ reason: 'x' }, 'plain warning');
    for (let i = 0; i < 3; i++) log.error({ repeat: 'pg:08006', sqlstate: '08006' }, 'batch write failed; retrying');
    log.info('untagged info');
    vi.advanceTimersByTime(1000);
    const all = lines();
    expect(all.filter((l) => l.msg === 'plain warning')).toHaveLength(5);
    expect(all.filter((l) => l.repeat === 'pg:08006').map((l) => [l.level, l.repeated])).toEqual([
      [50, undefined],
      [50, 2],
    ]);
    expect(all.at(-1)?.msg).toBe('batch write failed; retrying: 2 more like this in the last 1 s');
  });

  it('counts a key across child loggers, and honours the level (nothing counted below it)', () => {
    const { log, lines } = capture('warn');
    const a = log.child({ receiver: 1 });
    const b = log.child({ receiver: 2 });
    a.warn({ repeat: 'sqs:ReceiveMessage:ThrottlingException' }, 'ReceiveMessage failed; backing off');
    b.warn({ repeat: 'sqs:ReceiveMessage:ThrottlingException' }, 'ReceiveMessage failed; backing off');
    b.warn({ repeat: 'sqs:ReceiveMessage:ThrottlingException' }, 'ReceiveMessage failed; backing off');
    log.info({ repeat: 'info:hidden' }, 'hidden');
    vi.advanceTimersByTime(1000);
    expect(lines().map((l) => [l.receiver, l.repeated])).toEqual([
      [1, undefined],
      [1, 2],
    ]);
  });

  it('flushRepeats reports a window cut short with its real length', () => {
    const { log, lines } = capture();
    for (let i = 0; i < 4; i++) reject(log, i, 'too_long');
    vi.advanceTimersByTime(300);
    flushRepeats();
    expect(lines().at(-1)).toMatchObject({ repeated: 3, msg: 'message rejected: 3 more like this in the last 0.3 s' });
    // Nothing is reported twice.
    vi.advanceTimersByTime(1000);
    expect(lines()).toHaveLength(2);
  });

  it('a window cut short within a few milliseconds says so with two decimals, never "0.0 s"', () => {
    const { log, lines } = capture();
    for (let i = 0; i < 3; i++) reject(log, i, 'too_long');
    vi.advanceTimersByTime(30);
    flushRepeats();
    expect(lines().at(-1)).toMatchObject({ repeated: 2, msg: 'message rejected: 2 more like this in the last 0.03 s' });
    for (let i = 0; i < 3; i++) reject(log, i, 'invalid_ip');
    flushRepeats();
    expect(lines().at(-1)).toMatchObject({ repeated: 2, msg: 'message rejected: 2 more like this in the last 0.01 s' });
  });

  it('still redacts tagged lines', () => {
    const { log, lines } = capture();
    for (let i = 0; i < 3; i++) log.warn({ repeat: 'reject:invalid_ip', ip: '203.0.113.77', event: { device_id: '555-12-3456' } }, 'message rejected');
    vi.advanceTimersByTime(1000);
    const text = JSON.stringify(lines());
    expect(text).not.toContain('203.0.113.77');
    expect(text).not.toContain('555-12-3456');
    expect(lines()).toHaveLength(2);
  });
});

describe('repeated log lines at exit', () => {
  it('reports pending counts when the process exits (JSON on stderr, as the CLI writes them)', () => {
    const logger = fileURLToPath(new URL('../../dist/observability/logger.js', import.meta.url));
    const script = `
      const { createLogger } = await import(${JSON.stringify(logger)});
      const log = createLogger({ level: 'info' });
      for (let i = 0; i < 50; i++) log.warn({ repeat: 'reject:invalid_json', messageId: 'm' + i }, 'message rejected');
      process.exit(3);`;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8' });
    expect(r.status, r.stderr).toBe(3);
    const lines = r.stderr.trim().split('\n').map((l) => JSON.parse(l) as Line);
    expect(lines.map((l) => [l.messageId, l.repeated])).toEqual([
      ['m0', undefined],
      [undefined, 49],
    ]);
    expect(lines[1]?.msg).toMatch(/^message rejected: 49 more like this in the last 0\.(\d|\d\d) s$/);
  });
});
