import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/config/errors.js';
import { backoffMs } from '../../src/pipeline/backoff.js';
import { classifyPgError, describePgError, pgErrorFields, pgErrorLabel, pgFailureToError, pgProblem, pgRepeatKey } from '../../src/sink/errors.js';

const pgErr = (code: string, extra: Record<string, unknown> = {}) => Object.assign(new Error('server said no'), { code, ...extra });
const target = { user: 'etl', host: 'db', port: 5432, database: 'logins' };

describe('Postgres failures are sorted by SQLSTATE', () => {
  it.each([
    ['08006', 'transient'], ['57P01', 'transient'], ['57P03', 'transient'], ['40P01', 'transient'], ['53300', 'transient'],
    ['25006', 'transient'], ['55000', 'transient'], ['25001', 'fatal'],
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

describe('Postgres failures in logs and metrics', () => {
  const net = Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED', errno: -111 });
  const cert = Object.assign(new Error('self-signed certificate in certificate chain'), { code: 'SELF_SIGNED_CERT_IN_CHAIN' });

  it('keeps SQLSTATE for SQLSTATE and a network code for network errors', () => {
    expect(pgErrorFields(pgErr('25006'))).toEqual({ sqlstate: '25006' });
    expect(pgErrorFields(net)).toEqual({ errorCode: 'ECONNREFUSED' });
    expect(pgErrorFields(cert)).toEqual({ errorCode: 'SELF_SIGNED_CERT_IN_CHAIN' });
    expect(pgErrorFields(new Error('Connection terminated unexpectedly'))).toEqual({});
  });

  it('labels every failure with a code, never the class name "Error"', () => {
    expect(pgErrorLabel(pgErr('53300'))).toBe('53300');
    expect(pgErrorLabel(net)).toBe('ECONNREFUSED');
    expect(pgErrorLabel(new Error('Connection terminated unexpectedly'))).toBe('connection_lost');
    expect(pgErrorLabel(new Error('timeout exceeded when trying to connect'))).toBe('timeout');
    expect(pgErrorLabel(new Error('The server does not support SSL connections'))).toBe('tls_refused');
    expect(pgErrorLabel(new Error('something else'))).toBe('unknown');
    expect(pgRepeatKey(pgErr('25006'))).toBe('pg:25006');
  });

  it('says what is wrong in a few words for /readyz and the pause line', () => {
    expect(pgProblem(pgErr('25006'))).toMatch(/^read-only \(SQLSTATE 25006/);
    expect(pgProblem(pgErr('53300'))).toMatch(/^no connection slot free \(SQLSTATE 53300/);
    expect(pgProblem(pgErr('57P01'))).toBe('connection closed by the server (SQLSTATE 57P01: shutting down or restarting)');
    expect(pgProblem(net)).toBe('unreachable (ECONNREFUSED)');
    expect(pgProblem(new Error('Connection terminated unexpectedly'))).toBe('connection lost');
  });

  it('describes read-only and connection-limit failures with the target, and TLS failures as config', () => {
    expect(describePgError(pgErr('25006'), target)).toBe('PostgreSQL at etl@db:5432/logins is read-only (SQLSTATE 25006): a failover to a replica is in progress, or DATABASE_URL names a standby');
    expect(describePgError(pgErr('53300'), target)).toContain('CONNECTION LIMIT on user "etl" or database "logins"');
    expect(classifyPgError(cert)).toBe('config');
    const e = pgFailureToError(cert, target);
    expect(e).toBeInstanceOf(ConfigError);
    expect(e.message).toBe('the TLS certificate of PostgreSQL at etl@db:5432/logins could not be verified (SELF_SIGNED_CERT_IN_CHAIN); set sslrootcert (in DATABASE_URL, or PGSSLROOTCERT) to the CA certificate that signed it (docs/operations.md, TLS)');
    expect(pgFailureToError(cert, { ...target, caFile: '/etc/ca/other.crt' }).message).toBe('the TLS certificate of PostgreSQL at etl@db:5432/logins could not be verified (SELF_SIGNED_CERT_IN_CHAIN): it does not chain to the CA in sslrootcert /etc/ca/other.crt; point sslrootcert at the CA certificate that signed the server\'s certificate (docs/operations.md, TLS)');
    expect(pgFailureToError(new Error('The server does not support SSL connections'), target).message).toContain('add sslmode=disable to DATABASE_URL');
    const own = new ConfigError('no password', 'DATABASE_URL');
    expect(classifyPgError(own)).toBe('config');
    expect(pgFailureToError(own, target)).toBe(own);
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
