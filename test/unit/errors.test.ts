import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/config/errors.js';
import { backoffMs } from '../../src/pipeline/backoff.js';
import { classifyPgError, describePgError, pgFailureToError } from '../../src/sink/errors.js';

const pgErr = (code: string, extra: Record<string, unknown> = {}) => Object.assign(new Error('server said no'), { code, ...extra });
const target = { user: 'etl', host: 'db', port: 5432, database: 'logins' };

describe('Postgres failures are sorted by SQLSTATE', () => {
  it.each([
    ['08006', 'transient'], ['57P01', 'transient'], ['57P03', 'transient'], ['40P01', 'transient'], ['53300', 'transient'],
    ['22001', 'data'], ['23514', 'data'],
    ['28P01', 'config'], ['3D000', 'config'], ['42501', 'config'], ['42P01', 'config'],
    ['XX000', 'fatal'],
  ])('%s → %s', (code, kind) => {
    expect(classifyPgError(pgErr(code))).toBe(kind);
  });

  it('treats socket errors as transient and programming errors as fatal', () => {
    expect(classifyPgError(Object.assign(new Error('x'), { code: 'ECONNREFUSED' }))).toBe('transient');
    expect(classifyPgError(new Error('Connection terminated unexpectedly'))).toBe('transient');
    expect(classifyPgError(new TypeError('bug'))).toBe('fatal');
  });

  it('describes a bad password as a config error without the password', () => {
    const e = pgFailureToError(pgErr('28P01'), target);
    expect(e).toBeInstanceOf(ConfigError);
    expect(e.message).toBe('PostgreSQL rejected the password for user "etl" at etl@db:5432/logins; check DATABASE_URL or PGPASSWORD');
    expect(describePgError(pgErr('23505', { constraint: 'login_etl_ledger_pkey' }), target)).toContain('constraint login_etl_ledger_pkey');
  });
});

describe('backoff', () => {
  it('grows exponentially, is capped and jittered', () => {
    expect(backoffMs(0, 100, 10_000, () => 1)).toBe(100);
    expect(backoffMs(3, 100, 10_000, () => 1)).toBe(800);
    expect(backoffMs(30, 100, 10_000, () => 1)).toBe(10_000);
    expect(backoffMs(3, 100, 10_000, () => 0)).toBe(0);
    expect(backoffMs(3, 100, 10_000, () => 0.5)).toBe(400);
  });
});
