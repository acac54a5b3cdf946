import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import type { SqsClient } from '../../src/source/client.js';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generateEvents } from '../../src/demo/generate.js';
import { sendBodies } from '../../src/source/send.js';
import { BIN, cliEnv, runCli } from '../helpers/cli.js';
import { freshDatabase, freshQueues, sqsClient, TEST_KEY } from '../helpers/services.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** A tmux server of our own (its own socket, no user config) with one fixed-size window. */
function tmux(socket: string) {
  const run = (...args: string[]) => execFileSync('tmux', ['-L', socket, '-f', '/dev/null', ...args], { encoding: 'utf8' });
  return {
    start(env: NodeJS.ProcessEnv, command: string, width = 110, height = 20) {
      const vars = Object.entries(env).flatMap(([k, v]) => (v === undefined ? [] : ['-e', `${k}=${v}`]));
      run('new-session', '-d', '-x', String(width), '-y', String(height), '-s', 'cli', ...vars, command);
      run('set-option', '-t', 'cli', 'history-limit', '10000');
    },
    /** Scrollback and screen, wrapped lines joined. */
    history: () => run('capture-pane', '-p', '-J', '-S', '-', '-t', 'cli').replace(/\n+$/, '').split('\n'),
    kill: () => {
      try {
        run('kill-server');
      } catch {
        // already gone
      }
      // tmux leaves its socket file behind.
      rmSync(join(process.env.TMUX_TMPDIR ?? '/tmp', `tmux-${process.getuid?.() ?? 0}`, socket), { force: true });
    },
  };
}

async function waitFor<T>(fn: () => T | undefined, what: string, ms = 60_000): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = fn();
    if (v !== undefined) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await sleep(100);
  }
}

const BAR = /^\[[#-]{30}\] +\d+%  [\d,]+ done  ~[\d,]+ left  [\d,]+ msg\/s$/;
const LOG = /^\[\d\d:\d\d:\d\d\.\d{3}\] (TRACE|DEBUG|INFO|WARN|ERROR|FATAL): /;

describe('drain on a terminal (tmux pseudo-terminal), ~10% malformed messages', () => {
  let sqs: SqsClient;
  const term = tmux(`login-etl-test-${randomBytes(4).toString('hex')}`);
  /** The terminal's lines while the drain was caught mid-way (the table locked), and once it had finished. */
  let during: string[];
  let after: string[];

  beforeAll(async () => {
    try {
      execFileSync('tmux', ['-V']);
    } catch {
      throw new Error('tmux is needed for the terminal tests (apt-get install tmux); .ci/run installs it');
    }
    sqs = sqsClient();
    const { queueUrl, dlqUrl } = await freshQueues(sqs);
    const db = await freshDatabase();
    expect((await runCli(['init-db'], { DATABASE_URL: db })).code).toBe(0);
    const { bodies } = generateEvents(3000, 11, 0.1);
    await sendBodies(sqs, queueUrl, bodies, 16);

    // The table is locked at first, so the drain is caught mid-way, with rejects logged and the bar showing.
    const lock = new pg.Client({ connectionString: db });
    await lock.connect();
    await lock.query('BEGIN');
    await lock.query('LOCK TABLE user_logins IN ACCESS EXCLUSIVE MODE');
    const env = cliEnv({ SQS_QUEUE_URL: queueUrl, SQS_DLQ_URL: dlqUrl, DATABASE_URL: db, PII_KEY: TEST_KEY, TERM: 'xterm-256color' });
    term.start(env, `'${process.execPath}' '${BIN}' drain; echo EXIT=$?; sleep 3600`);
    try {
      during = await waitFor(() => {
        // Scrollback included: a long line that scrolled partly off the screen is still whole there.
        const s = term.history().filter((l) => l.trim() !== '');
        return BAR.test(s.at(-1) ?? '') && s.some((l) => l.includes('message rejected')) ? s : undefined;
      }, 'the bar below rejects');
    } finally {
      await lock.query('ROLLBACK');
      await lock.end();
    }
    after = await waitFor(() => {
      const h = term.history();
      return h.some((l) => l.startsWith('EXIT=')) ? h : undefined;
    }, 'the drain to finish');
  });
  afterAll(() => {
    term.kill();
    sqs?.destroy();
  });

  const rejectedInSummary = () => Number(/^ {2}rejected {4}([\d,]+)/m.exec(after.join('\n'))?.[1]?.replace(/,/g, ''));
  const fullRejectLines = () => after.filter((l) => /\] WARN: message rejected \{/.test(l)).length;
  const countedRejects = () => after.reduce((sum, l) => sum + Number(/message rejected: ([\d,]+) more like this in the last/.exec(l)?.[1] ?? 0), 0);

  it('keeps the progress bar on the bottom line, with whole log lines above it', () => {
    expect(during.at(-1)).toMatch(BAR);
    for (const l of during.slice(0, -1)) {
      expect(l, `not a whole log line: ${l}`).toMatch(LOG);
      expect(l).not.toMatch(/\[[#-]{30}\]|msg\/s/);
    }
  });

  it('leaves no bar behind, glues nothing, and prints the summary once, not repeated by a log line', () => {
    expect(after.find((l) => l.startsWith('EXIT='))).toBe('EXIT=0');
    expect(after.filter((l) => /\[[#-]{30}\]/.test(l))).toEqual([]);
    for (const l of after.filter((x) => / (INFO|WARN|ERROR): /.test(x))) expect(l, l).toMatch(LOG);
    expect(after.filter((l) => l.startsWith('drained in '))).toHaveLength(1);
    expect(after.join('\n')).not.toContain('drain finished');
  });

  it('accounts for each reject once: logged in full, or counted in a "N more like this" line', () => {
    expect(rejectedInSummary()).toBeGreaterThan(100);
    expect(fullRejectLines() + countedRejects()).toBe(rejectedInSummary());
  });

  it('summarises rejects: most are counted, not printed (the pipeline tags each with repeat: reject:<reason>)', () => {
    expect(countedRejects(), 'rejects were not summarised: does the pipeline tag them with repeat: `reject:<reason>`?').toBeGreaterThan(fullRejectLines());
  });
});
