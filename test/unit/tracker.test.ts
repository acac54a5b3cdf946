import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { createTracker } from '../../src/pipeline/tracker.js';
import type { SqsClient } from '../../src/source/client.js';

// The heartbeat is never started here, so the SQS client is never called.
const sqs = {} as SqsClient;
const handles = (from: number, n: number) => Array.from({ length: n }, (_, i) => `h${from + i}`);

describe('tracker: room under MAX_IN_FLIGHT', () => {
  it('says when a receive must wait for room, and again after each change that leaves it waiting', async () => {
    let calls = 0;
    const t = createTracker({ sqs, queueUrl: 'q', maxInFlight: 10, visibilityTimeoutSeconds: 30, log: pino({ level: 'silent' }), onNoRoom: () => calls++ });
    await t.whenRoom(10);
    expect(calls).toBe(0);
    t.add(handles(0, 5));
    let ready = false;
    const room = t.whenRoom(10).then(() => (ready = true));
    expect(calls).toBe(1);
    t.release(handles(0, 2));
    await Promise.resolve();
    expect([calls, ready]).toEqual([2, false]);
    t.release(handles(2, 3));
    await room;
    expect([calls, ready]).toEqual([2, true]);
  });
});
