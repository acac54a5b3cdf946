import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger, loadPinoPretty } from '../../src/observability/logger.js';

function capture() {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk: Buffer, _enc, cb) {
      lines.push(chunk.toString());
      cb();
    },
  });
  return { log: createLogger({ level: 'debug', pretty: false, destination }), text: () => lines.join('') };
}

describe('log redaction (real pino output)', () => {
  it('censors ip, device_id, bodies, keys, passwords and connection strings wherever they are passed', () => {
    const { log, text } = capture();
    log.info({ ip: '203.0.113.7', device_id: '593-47-5928', body: '{"ip":"203.0.113.8"}' }, 'event');
    log.warn({ event: { ip: '203.0.113.9', device_id: '111-22-3333' }, msg2: { ip: '203.0.113.10' } }, 'nested');
    log.error({ config: { piiKey: 'S3CRETKEYMATERIAL', databaseUrl: 'postgres://u:hunter2@db/x' }, password: 'hunter3', key: 'K3Y' }, 'config');
    log.info({ databaseUrl: 'postgres://u:hunter4@db/x', connectionString: 'postgres://u:hunter5@db/x' }, 'url');
    const out = text();
    for (const secret of ['203.0.113.7', '593-47-5928', '203.0.113.8', '203.0.113.9', '111-22-3333', '203.0.113.10', 'S3CRETKEYMATERIAL', 'hunter2', 'hunter3', 'K3Y', 'hunter4', 'hunter5']) {
      expect(out).not.toContain(secret);
    }
    expect(out).toContain('[redacted]');
    expect(out.trim().split('\n')).toHaveLength(4);
  });

  it('respects the level', () => {
    const lines: string[] = [];
    const destination = new Writable({ write: (c: Buffer, _e, cb) => (lines.push(c.toString()), cb()) });
    const log = createLogger({ level: 'warn', pretty: false, destination });
    log.info('hidden');
    log.warn('shown');
    expect(lines.join('')).toContain('shown');
    expect(lines.join('')).not.toContain('hidden');
  });
});

describe('pretty output (pino-pretty, an optional dependency loaded only when wanted)', () => {
  function sink() {
    const chunks: string[] = [];
    const destination = new Writable({ write: (c: Buffer, _e, cb) => (chunks.push(c.toString()), cb()) });
    return { destination, text: () => chunks.join('') };
  }

  it('prints one line per log call, still redacted', () => {
    const { destination, text } = sink();
    const log = createLogger({ level: 'info', pretty: true, destination });
    log.warn({ messageId: 'm-1', reason: 'invalid_ip', ip: '203.0.113.7' }, 'message rejected');
    log.info('done');
    const lines = text().trimEnd().split('\n');
    expect(lines).toHaveLength(2);
    expect(lines[0]).toMatch(/^\[\d\d:\d\d:\d\d\.\d{3}\] WARN: message rejected \{"messageId":"m-1","reason":"invalid_ip","ip":"\[redacted\]"\}$/);
    expect(lines[1]).toMatch(/INFO: done$/);
    expect(text()).not.toContain('203.0.113.7');
  });

  it('falls back to JSON lines when pino-pretty is not installed', () => {
    const { destination, text } = sink();
    let asked = 0;
    const log = createLogger({ level: 'info', pretty: true, destination, loadPretty: () => (asked++, undefined) });
    log.info({ a: 1 }, 'plain');
    expect(asked).toBe(1);
    expect(JSON.parse(text())).toMatchObject({ a: 1, msg: 'plain', level: 30 });
  });

  it('does not load pino-pretty at all for JSON output', () => {
    const { destination } = sink();
    let asked = 0;
    createLogger({ pretty: false, destination, loadPretty: () => (asked++, undefined) });
    expect(asked).toBe(0);
  });

  it('loadPinoPretty: undefined when the module is missing; any other failure is raised', () => {
    const missing = Object.assign(new Error("Cannot find module 'pino-pretty'"), { code: 'MODULE_NOT_FOUND' });
    expect(loadPinoPretty(() => { throw missing; })).toBeUndefined();
    expect(() => loadPinoPretty(() => { throw new SyntaxError('broken'); })).toThrow('broken');
    expect(typeof loadPinoPretty()).toBe('function');
  });
});
