import type { Message } from '../source/queue.js';
import type { Transformer } from '../transform/transform.js';
import { rejection } from '../transform/validate.js';
import type { Batcher } from './batcher.js';
import type { PipelineEvents } from './events.js';
import type { Rejects } from './rejects.js';
import type { Counters, Item, Received } from './state.js';

export interface IntakeOptions {
  transform: Transformer;
  events: PipelineEvents;
  counters: Counters;
  batcher: Batcher<Item>;
  rejects: Rejects;
}

/**
 * The transform stage: received messages (already tracked) become rows for the batcher, or rejects. A body
 * that does not match its MD5 is never transformed: that copy was corrupted on the way, so the message is
 * left on the queue to be received again (`corrupt_message`).
 */
export function createIntake(o: IntakeOptions): (msgs: readonly Message[]) => void {
  const { events, counters } = o;
  return (msgs) => {
    const now = Date.now();
    counters.receivedNow(msgs.length);
    events.emit('received', msgs.length);
    let oldest = now;
    for (const m of msgs) {
      const sent = m.Attributes?.SentTimestamp;
      if (sent !== undefined) oldest = Math.min(oldest, Number(sent) || now);
    }
    events.emit('messageAge', (now - oldest) / 1000);
    for (const m of msgs) {
      const msg: Received = { id: m.MessageId, handle: m.ReceiptHandle, body: m.Body };
      if (!m.intact) {
        o.rejects.leaveOnQueue(msg, rejection('corrupt_message'));
        continue;
      }
      const result = o.transform(m.Body, m.Attributes?.SentTimestamp);
      if (result.ok) o.batcher.add({ ...msg, row: result.row });
      else o.rejects.reject(msg, result.rejection);
    }
  };
}
