import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { createMetrics, MESSAGE_AGE_WINDOW_MS, slidingMax } from '../../src/observability/metrics.js';
import { cachedCheck, type ReadyResult } from '../../src/observability/server.js';
import { createPipelineEvents } from '../../src/pipeline/events.js';
import { REJECT_REASONS } from '../../src/transform/validate.js';
import { promtool } from '../helpers/tools.js';

const version = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;

describe('metrics', () => {
  it('start every reject reason, the DLQ counter and build_info at first scrape, and pass promtool check metrics', async () => {
    const { registry } = createMetrics(createPipelineEvents());
    const text = await registry.metrics();
    for (const reason of REJECT_REASONS) expect(text).toContain(`login_etl_messages_rejected_total{reason="${reason}"} 0\n`);
    expect(text).toContain('login_etl_messages_dead_lettered_total 0\n');
    expect(text).toContain(`login_etl_build_info{version="${version}"} 1\n`);
    expect(text).toContain('login_etl_oldest_message_age_seconds 0\n');
    const r = promtool(['check', 'metrics'], text);
    expect(r.output).toBe('');
    expect(r.code).toBe(0);
  });

  it('report blocked FIFO groups as a count read at each scrape (0 without a pipeline), never a group id', async () => {
    let n = 0;
    const { registry } = createMetrics(createPipelineEvents(), { blockedGroups: () => n });
    expect(await registry.metrics()).toContain('login_etl_fifo_blocked_groups 0\n');
    n = 3;
    expect(await registry.metrics()).toContain('login_etl_fifo_blocked_groups 3\n');
    expect(await createMetrics(createPipelineEvents()).registry.metrics()).toContain('login_etl_fifo_blocked_groups 0\n');
  });

  it('count pipeline events: dead letters, rejects by reason, batches, lag', async () => {
    const events = createPipelineEvents();
    let t = 1_000_000;
    const { registry } = createMetrics(events, { now: () => t });
    events.emit('deadLettered', 3);
    events.emit('deadLettered', 2);
    events.emit('rejected', 'invalid_ip');
    events.emit('batch', 250, 0.012);
    events.emit('messageAge', 42.5);
    events.emit('messageAge', 7);
    events.emit('sink', 'down');
    let text = await registry.metrics();
    expect(text).toContain('login_etl_messages_dead_lettered_total 5\n');
    expect(text).toContain('login_etl_messages_rejected_total{reason="invalid_ip"} 1\n');
    expect(text).toContain('login_etl_batch_rows_sum 250\n');
    expect(text).toContain('login_etl_commit_seconds_count 1\n');
    expect(text).toContain('login_etl_oldest_message_age_seconds 42.5\n');
    expect(text).toContain('login_etl_sink_up 0\n');
    t += MESSAGE_AGE_WINDOW_MS + 1;
    text = await registry.metrics();
    expect(text).toContain('login_etl_oldest_message_age_seconds 0\n');
  });

  it('report a blocked event loop as lag', async () => {
    const { registry } = createMetrics(createPipelineEvents());
    const lagMax = async () => Number(/^nodejs_eventloop_lag_max_seconds (\S+)$/m.exec(await registry.metrics())?.[1]);
    await lagMax(); // each scrape starts a new histogram, which takes its first sample one interval later
    await new Promise((r) => setTimeout(r, 250));
    const until = performance.now() + 400;
    while (performance.now() < until); // the loop blocked for 400 ms: a sample due meanwhile comes late
    await new Promise((r) => setTimeout(r, 250));
    expect(await lagMax()).toBeGreaterThan(0.25);
  });

  it('slidingMax remembers a value for at least half a window and at most a whole one', () => {
    let t = 0;
    const m = slidingMax(1000, () => t);
    m.observe(5);
    t = 499;
    expect(m.value()).toBe(5);
    t = 600;
    m.observe(3);
    t = 999;
    expect(m.value()).toBe(5); // observed in the previous half
    t = 1000;
    expect(m.value()).toBe(3); // 5 is now a window old
    t = 1500;
    expect(m.value()).toBe(0);
    m.observe(1);
    t = 2600;
    expect(m.value()).toBe(0); // more than one half later: nothing carried
  });
});

describe('/readyz dependency check cache', () => {
  it('shares one check among concurrent probes and reuses its result for the TTL', async () => {
    let calls = 0;
    let release: (r: ReadyResult) => void = () => {};
    let t = 0;
    const check = cachedCheck(
      () => {
        calls++;
        return new Promise<ReadyResult>((r) => (release = r));
      },
      5000,
      () => t,
    );
    const probes = Array.from({ length: 20 }, () => check());
    expect(calls).toBe(1);
    release({ ok: false, reason: 'PostgreSQL unavailable' });
    expect(new Set(await Promise.all(probes)).size).toBe(1);
    t = 4999;
    expect(await check()).toEqual({ ok: false, reason: 'PostgreSQL unavailable' });
    expect(calls).toBe(1);
    t = 5000;
    const next = check();
    expect(calls).toBe(2);
    release({ ok: true });
    expect(await next).toEqual({ ok: true });
  });

  it('turns a check that throws into a not-ready result, and tries again after the TTL', async () => {
    let t = 0;
    let fail = true;
    const check = cachedCheck(
      async () => {
        if (fail) throw new Error('boom');
        return { ok: true };
      },
      1000,
      () => t,
    );
    expect(await check()).toEqual({ ok: false, reason: 'boom' });
    fail = false;
    expect(await check()).toEqual({ ok: false, reason: 'boom' });
    t = 1000;
    expect(await check()).toEqual({ ok: true });
  });
});
