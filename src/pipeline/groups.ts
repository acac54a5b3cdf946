import type { BlockedGroup, LeftWhy, Received } from './state.js';

/** A received FIFO message: its group and receive order are set. */
export type Sequenced = Received & { group: string; seq: number };

export interface FifoOrderOptions {
  /** Messages that must not be processed now (an earlier message of their group stays on the queue): give them back. */
  handBack: (msgs: Sequenced[]) => void;
  /**
   * `run`: forget a block this long after the message left behind became visible again (it has been received
   * again since, by this process or another, or moved by a redrive policy), so that a long run does not keep one
   * entry per poison message. Unset (`drain`): blocks last to the end, for the summary.
   */
  forgetAfterMs?: number;
  /** Aborted on a fatal fault: nothing waits for a reject's fate any more (its send was abandoned too). */
  abandon?: AbortSignal;
}

/**
 * Per-group order for FIFO queues, from receive to commit. SQS hands out a group's messages in order and no more
 * of them while any is in flight, so the messages of a group this process holds all came from one receive, in
 * order. Three rules keep that order to the commit:
 * 1. batches that share a group commit one after the other, in the order they were formed (other groups stay
 *    concurrent);
 * 2. a message waits for the fate of any earlier reject of its group still on its way to the DLQ;
 * 3. once a message of a group is left on the source queue (no DLQ, too large for it, refused, corrupt), the
 *    group is blocked: SQS will not deliver its later messages until that one is gone, and the later ones this
 *    process already holds are handed back unprocessed, to come again after it.
 * A block ends when a later receive brings the group again (SQS then delivers the group's first message): the
 * message left behind itself, or any message of the group once that one's visibility timeout has passed (a
 * redrive policy may have moved it). Before then, SQS should deliver nothing of the group; an emulator that does
 * (moto's concurrent receives can) gets those messages handed back, so the order still holds.
 */
export interface FifoOrder {
  /** A message of a new receive: numbers it; the first message of a group in a new receive ends an old block. */
  receive(msg: Received, group: string): Sequenced;
  /** Starts a new receive (blocks set before it can end). */
  nextReceive(): void;
  /** True when an earlier message of its group stays on the source queue: the message must not be processed now. */
  isBlocked(msg: Sequenced): boolean;
  /** A reject of this group is on its way to the DLQ: later messages of the group wait for its fate. */
  rejecting(msg: Sequenced): void;
  /** It was dead-lettered: the group goes on. */
  deadLettered(msg: Sequenced): void;
  /** It stays on the source queue, invisible until `until` (ms since the epoch): the group is blocked behind it. */
  left(msg: Sequenced, reason: string, why: LeftWhy, until?: number): void;
  /** Runs `commit` for a batch once rule 1 and 2 allow, without the messages rule 3 holds back. */
  commit<T extends Sequenced>(items: T[], commit: (items: T[]) => Promise<void>): Promise<void>;
  /** Groups blocked now. */
  blocked(): BlockedGroup[];
}

interface Block extends BlockedGroup {
  seq: number;
  receiveNo: number;
  until: number;
}

interface GroupState {
  /** Receive order of this group's rejects still on their way to the DLQ. */
  pending: Set<number>;
  block?: Block | undefined;
  /** Settles when the last batch formed with this group has finished. */
  chain?: Promise<void> | undefined;
  /** Woken when a pending reject settles. */
  wake: (() => void)[];
}

export function createFifoOrder(o: FifoOrderOptions): FifoOrder {
  const groups = new Map<string, GroupState>();
  let seq = 0;
  let receiveNo = 0;

  o.abandon?.addEventListener(
    'abort',
    () => {
      for (const st of groups.values()) {
        const wake = st.wake;
        st.wake = [];
        for (const w of wake) w();
      }
    },
    { once: true },
  );

  const state = (g: string): GroupState => {
    let st = groups.get(g);
    if (!st) groups.set(g, (st = { pending: new Set(), wake: [] }));
    return st;
  };
  /** Forgets a group with nothing to remember, so that millions of groups (one per user) cost nothing. */
  const tidy = (g: string) => {
    const st = groups.get(g);
    if (st && st.pending.size === 0 && !st.block && !st.chain && st.wake.length === 0) groups.delete(g);
  };
  const settle = (msg: Sequenced) => {
    const st = groups.get(msg.group);
    if (!st) return;
    st.pending.delete(msg.seq);
    const wake = st.wake;
    st.wake = [];
    for (const w of wake) w();
    tidy(msg.group);
  };
  /** Resolves once no reject of group `g` received before `before` is pending. */
  async function settledBefore(g: string, before: number): Promise<void> {
    for (;;) {
      const st = groups.get(g);
      if (!st || o.abandon?.aborted || ![...st.pending].some((s) => s < before)) return;
      await new Promise<void>((r) => st.wake.push(r));
    }
  }
  /** `run` only: drops blocks whose message has long been visible again. */
  const forgetOld = () => {
    if (o.forgetAfterMs === undefined) return;
    const before = Date.now() - o.forgetAfterMs;
    for (const [g, st] of groups) {
      if (st.block && st.block.until < before) {
        st.block = undefined;
        tidy(g);
      }
    }
  };
  const isBlocked = (msg: Sequenced) => {
    const b = groups.get(msg.group)?.block;
    return b !== undefined && b.seq < msg.seq;
  };

  return {
    nextReceive: () => void receiveNo++,
    receive(msg, group) {
      const st = groups.get(group);
      // SQS delivered this group again: whatever was left ahead of it is gone or is this very message.
      if (st?.block && st.block.receiveNo < receiveNo && (msg.id === st.block.messageId || Date.now() >= st.block.until)) {
        st.block = undefined;
        tidy(group);
      }
      return Object.assign(msg, { group, seq: seq++ });
    },
    isBlocked,
    rejecting: (msg) => void state(msg.group).pending.add(msg.seq),
    deadLettered: settle,
    left(msg, reason, why, until = 0) {
      forgetOld();
      const st = state(msg.group);
      if (!st.block || st.block.seq > msg.seq) st.block = { groupId: msg.group, messageId: msg.id, reason, why, seq: msg.seq, receiveNo, until };
      settle(msg);
    },
    async commit(items, commit) {
      const last = new Map<string, number>();
      for (const it of items) last.set(it.group, Math.max(last.get(it.group) ?? -1, it.seq));
      const earlier: Promise<void>[] = [];
      let done!: () => void;
      const mine = new Promise<void>((r) => (done = r));
      for (const g of last.keys()) {
        const st = state(g);
        if (st.chain) earlier.push(st.chain);
        st.chain = mine;
      }
      try {
        await Promise.all(earlier);
        for (const [g, s] of last) await settledBefore(g, s);
        const go: typeof items = [];
        const back: typeof items = [];
        for (const it of items) (isBlocked(it) ? back : go).push(it);
        if (back.length > 0) o.handBack(back);
        if (go.length > 0) await commit(go);
      } finally {
        done();
        for (const g of last.keys()) {
          const st = groups.get(g);
          if (st?.chain === mine) {
            st.chain = undefined;
            tidy(g);
          }
        }
      }
    },
    blocked() {
      forgetOld();
      return [...groups.values()].flatMap((st) => (st.block ? [{ groupId: st.block.groupId, messageId: st.block.messageId, reason: st.block.reason, why: st.block.why }] : []));
    },
  };
}
