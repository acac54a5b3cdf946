import { describe, expect, it } from 'vitest';
import { createFifoOrder } from '../../src/pipeline/groups.js';
import { createIntake } from '../../src/pipeline/intake.js';
import { createPipelineEvents } from '../../src/pipeline/events.js';
import type { Rejects } from '../../src/pipeline/rejects.js';
import { createCounters, type Item } from '../../src/pipeline/state.js';
import type { Message } from '../../src/source/queue.js';
import type { LoginRow, Transformer } from '../../src/transform/transform.js';

const row: LoginRow = { user_id: 'u', device_type: 'ios', masked_ip: 'ip', masked_device_id: 'dev', locale: null, app_version: null, create_date: '2026-12-05' };
const transform: Transformer = (body) => (body === 'bad' ? { ok: false, rejection: { reason: 'invalid_json', detail: 'body is not valid JSON' } } : { ok: true, row });
const message = (id: string, body: string, group?: string): Message => ({
  MessageId: id,
  ReceiptHandle: `h-${id}`,
  Body: body,
  intact: true,
  Attributes: { SentTimestamp: String(Date.now()), ...(group ? { MessageGroupId: group } : {}) },
});

function harness(fifo: boolean) {
  const items: Item[] = [];
  const rejected: string[] = [];
  const rejects = { reject: (msg: { id: string }) => rejected.push(msg.id), leaveOnQueue: () => {} } as unknown as Rejects;
  const order = fifo ? createFifoOrder({ handBack: () => {} }) : undefined;
  const intake = createIntake({
    transform,
    events: createPipelineEvents(),
    counters: createCounters(),
    batcher: { add: (it) => items.push(it), flush: () => {}, size: 0 },
    rejects,
    fifo: order ? { order, handBack: () => {} } : undefined,
  });
  return { intake, items, rejected };
}

describe('intake: the transform stage', () => {
  it('hands on each valid message as an item with its id, receipt handle, body and row; a reject goes to the reject stage', () => {
    const h = harness(false);
    h.intake([message('1', 'ok'), message('2', 'bad'), message('3', 'ok')]);
    expect(h.items).toEqual([
      { id: '1', handle: 'h-1', body: 'ok', row },
      { id: '3', handle: 'h-3', body: 'ok', row },
    ]);
    expect(h.rejected).toEqual(['2']);
  });

  it('on a FIFO queue, each item keeps its MessageGroupId and its place in the receive (a refused row is dead-lettered to its own group)', () => {
    const h = harness(true);
    h.intake([message('1', 'ok', 'g1'), message('2', 'ok', 'g2'), message('3', 'ok', 'g1')]);
    expect(h.items.map((it) => [it.id, it.group, it.seq])).toEqual([
      ['1', 'g1', 0],
      ['2', 'g2', 1],
      ['3', 'g1', 2],
    ]);
  });
});
