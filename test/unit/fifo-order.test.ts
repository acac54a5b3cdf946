import { describe, expect, it } from 'vitest';
import { createFifoOrder, type Sequenced } from '../../src/pipeline/groups.js';

/** Pure logic of groups.ts: commits are recorded, the "database" is a list. */
function setup() {
  const committed: string[] = [];
  const handedBack: string[] = [];
  const order = createFifoOrder({ handBack: (msgs) => handedBack.push(...msgs.map((m) => m.id)) });
  const receive = (...specs: [id: string, group: string][]) => {
    order.nextReceive();
    return specs.map(([id, group]) => order.receive({ id, handle: `h-${id}`, body: '' }, group));
  };
  /** A commit that finishes when `release()` is called. */
  const commitLater = () => {
    let release!: () => void;
    const gate = new Promise<void>((r) => (release = r));
    return {
      release,
      fn: async (items: Sequenced[]) => {
        await gate;
        committed.push(...items.map((i) => i.id));
      },
    };
  };
  const now = async (items: Sequenced[]) => void committed.push(...items.map((i) => i.id));
  return { order, receive, committed, handedBack, commitLater, now };
}

const tick = () => new Promise((r) => setTimeout(r, 5));

describe('FIFO order (groups.ts)', () => {
  it('a batch sharing a group with an earlier one commits after it; other groups do not wait', async () => {
    const t = setup();
    const [a1, a2, b1] = t.receive(['a1', 'a'], ['a2', 'a'], ['b1', 'b']) as Sequenced[];
    const first = t.commitLater();
    const p1 = t.order.commit([a1!], first.fn);
    const p2 = t.order.commit([a2!], t.now);
    const p3 = t.order.commit([b1!], t.now);
    await tick();
    // b1 shares nothing with the slow batch: committed; a2 waits for a1.
    expect(t.committed).toEqual(['b1']);
    first.release();
    await Promise.all([p1, p2, p3]);
    expect(t.committed).toEqual(['b1', 'a1', 'a2']);
  });

  it('a later message waits for the fate of an earlier reject of its group on its way to the DLQ', async () => {
    const t = setup();
    const [a1, a2, a3] = t.receive(['a1', 'a'], ['a2', 'a'], ['a3', 'a']) as Sequenced[];
    t.order.rejecting(a2!);
    const p = t.order.commit([a1!, a3!], t.now);
    await tick();
    expect(t.committed).toEqual([]);
    t.order.deadLettered(a2!);
    await p;
    expect(t.committed).toEqual(['a1', 'a3']);
    expect(t.order.blocked()).toEqual([]);
  });

  it('a fatal fault (the DLQ send abandoned) does not leave a batch waiting for a fate that will never come', async () => {
    const abandon = new AbortController();
    const committed: string[] = [];
    const order = createFifoOrder({ handBack: () => {}, abandon: abandon.signal });
    order.nextReceive();
    const a1 = order.receive({ id: 'a1', handle: 'h1', body: '' }, 'a');
    const a2 = order.receive({ id: 'a2', handle: 'h2', body: '' }, 'a');
    order.rejecting(a1);
    const p = order.commit([a2], async (items) => void committed.push(...items.map((i) => i.id)));
    await tick();
    expect(committed).toEqual([]);
    abandon.abort();
    await p;
    // The committer itself gives up on an abandoned pipeline; the order stage only stops waiting.
    expect(committed).toEqual(['a2']);
  });

  it('a reject left on the queue blocks its group: earlier messages commit, later ones are handed back', async () => {
    const t = setup();
    const [a1, a2, a3, b1] = t.receive(['a1', 'a'], ['a2', 'a'], ['a3', 'a'], ['b1', 'b']) as Sequenced[];
    t.order.rejecting(a2!);
    const p = t.order.commit([a1!, a3!, b1!], t.now);
    t.order.left(a2!, 'invalid_json', 'too_large');
    await p;
    expect(t.committed).toEqual(['a1', 'b1']);
    expect(t.handedBack).toEqual(['a3']);
    expect(t.order.blocked()).toEqual([{ groupId: 'a', messageId: 'a2', reason: 'invalid_json', why: 'too_large' }]);
    expect(t.order.isBlocked(a3!)).toBe(true);
    expect(t.order.isBlocked(a1!)).toBe(false);
  });

  it('the block ends when a later receive brings the group again (SQS delivers its first message then)', () => {
    const t = setup();
    const [a1, a2] = t.receive(['a1', 'a'], ['a2', 'a']) as Sequenced[];
    t.order.left(a1!, 'invalid_json', 'no_dlq');
    expect(t.order.isBlocked(a2!)).toBe(true);
    // The same receive goes on: still blocked.
    const same = t.order.receive({ id: 'a3', handle: 'h', body: '' }, 'a');
    expect(t.order.isBlocked(same)).toBe(true);
    // A new receive brings a1 again: the old block is gone; a1 is rejected again and blocks anew.
    const [again, next] = t.receive(['a1', 'a'], ['a2', 'a']) as Sequenced[];
    expect(t.order.isBlocked(again!)).toBe(false);
    expect(t.order.blocked()).toEqual([]);
    t.order.left(again!, 'invalid_json', 'no_dlq');
    expect(t.order.isBlocked(next!)).toBe(true);
  });

  it('before the message left behind can be visible again, a later message of its group stays blocked (an emulator that delivers it anyway)', () => {
    const t = setup();
    const [a1] = t.receive(['a1', 'a']) as Sequenced[];
    t.order.left(a1!, 'invalid_json', 'no_dlq', Date.now() + 60_000);
    // moto's concurrent receives can hand out a2 while a1 is in flight: still blocked.
    const [a2] = t.receive(['a2', 'a']) as Sequenced[];
    expect(t.order.isBlocked(a2!)).toBe(true);
    // a1 itself coming back ends the block.
    const [back] = t.receive(['a1', 'a']) as Sequenced[];
    expect(t.order.isBlocked(back!)).toBe(false);
    expect(t.order.blocked()).toEqual([]);
  });

  it('run: a block is forgotten once its message has long been visible again (one entry per poison message would pile up)', () => {
    const order = createFifoOrder({ handBack: () => {}, forgetAfterMs: 1000 });
    order.nextReceive();
    const old = order.receive({ id: 'a1', handle: 'h', body: '' }, 'a');
    order.left(old, 'invalid_json', 'no_dlq', Date.now() - 5000);
    const fresh = order.receive({ id: 'b1', handle: 'h2', body: '' }, 'b');
    order.left(fresh, 'invalid_json', 'no_dlq', Date.now() + 30_000);
    expect(order.blocked().map((b) => b.groupId)).toEqual(['b']);
  });

  it('forgets groups with nothing pending, so one group per user costs no memory', async () => {
    const t = setup();
    for (let i = 0; i < 1000; i++) {
      const [m] = t.receive([`m${i}`, `user-${i}`]) as Sequenced[];
      await t.order.commit([m!], t.now);
    }
    expect(t.committed).toHaveLength(1000);
    expect(t.order.blocked()).toEqual([]);
  });
});
