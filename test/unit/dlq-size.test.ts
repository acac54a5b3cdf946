import { describe, expect, it } from 'vitest';
import { deadLetterBatches, deadLetterOf, type Encoded, type Pending } from '../../src/pipeline/rejects.js';
import { batchBySize, sqsMessageBytes, SQS_MAX_BYTES } from '../../src/source/size.js';
import { rejection } from '../../src/transform/validate.js';

const pending = (id: string, body: string, group?: string): Pending => ({ msg: { id, handle: `h-${id}`, body, ...(group !== undefined ? { group } : {}) }, r: rejection('invalid_json') });

async function encoded(ps: Pending[]): Promise<Encoded[]> {
  return Promise.all(ps.map(async (p) => {
    const out = await deadLetterOf(p);
    return { p, out, bytes: sqsMessageBytes(out) };
  }));
}

describe('SQS message size, as SQS counts it', () => {
  it('counts the body in UTF-8 bytes plus each attribute name, data type and value', () => {
    expect(sqsMessageBytes({ body: 'abc' })).toBe(3);
    expect(sqsMessageBytes({ body: 'é😀' })).toBe(2 + 4);
    // reason(6) + String(6) + invalid_json(12) + source_message_id(17) + String(6) + 36-character id
    expect(sqsMessageBytes({ body: 'x', attributes: { reason: 'invalid_json', source_message_id: '0'.repeat(36) } })).toBe(1 + 6 + 6 + 12 + 17 + 6 + 36);
    expect(sqsMessageBytes({ body: '', attributes: { n: { DataType: 'Number', StringValue: '12' }, b: { DataType: 'Binary', BinaryValue: 'AAAA' } } })).toBe(1 + 6 + 2 + 1 + 6 + 4);
  });

  it('a dead letter near the maximum no longer fits once its attributes are added', async () => {
    const [e] = await encoded([pending('m1', 'x'.repeat(262_144 - 10))]);
    expect(e?.bytes).toBeGreaterThan(262_144);
    const { batches, tooLarge } = deadLetterBatches(e ? [e] : [], 262_144);
    expect(batches).toEqual([]);
    expect(tooLarge.map((x) => x.p.msg.id)).toEqual(['m1']);
  });
});

describe('DLQ batches built by size', () => {
  it('several 100–250 KB dead letters: every batch within the cap, in order, none too large', async () => {
    const sizes = [100_000, 250_000, 180_000, 120_000, 240_000, 90_000, 200_000];
    const es = await encoded(sizes.map((n, i) => pending(`m${i}`, 'y'.repeat(n))));
    for (const cap of [262_144, SQS_MAX_BYTES]) {
      const { batches, tooLarge } = deadLetterBatches(es, cap);
      expect(tooLarge).toEqual([]);
      expect(batches.flat().map((e) => e.p.msg.id)).toEqual(sizes.map((_, i) => `m${i}`));
      for (const b of batches) {
        expect(b.length).toBeLessThanOrEqual(10);
        expect(b.reduce((s, e) => s + e.bytes, 0)).toBeLessThanOrEqual(cap);
      }
    }
    // At 256 KiB each of these needs its own call; at 1 MiB several share one.
    expect(deadLetterBatches(es, 262_144).batches).toHaveLength(7);
    expect(deadLetterBatches(es, SQS_MAX_BYTES).batches.length).toBeLessThan(7);
  });

  it('never more than 10 entries, never a batch over the 1 MiB SQS cap even if a queue claims more', () => {
    const { batches } = batchBySize(Array.from({ length: 25 }, (_, i) => i), () => 1, 2 ** 30);
    expect(batches.map((b) => b.length)).toEqual([10, 10, 5]);
    const big = batchBySize([600_000, 600_000], (n) => n, SQS_MAX_BYTES);
    expect(big.batches).toEqual([[600_000], [600_000]]);
  });

  it('the items too large alone are set aside, the rest keep their order around them', () => {
    const r = batchBySize([10, 500, 20, 30], (n) => n, 100);
    expect(r.tooLarge).toEqual([500]);
    expect(r.batches).toEqual([[10, 20, 30]]);
  });
});

describe('dead letters on a FIFO DLQ', () => {
  it('keep the source MessageGroupId; the deduplication id is the source MessageId', async () => {
    const out = await deadLetterOf(pending('8f0c-1', '{"user_id":', 'user-7'), undefined, true);
    expect(out).toMatchObject({ body: '{"user_id":', groupId: 'user-7', deduplicationId: '8f0c-1', attributes: { reason: 'invalid_json', source_message_id: '8f0c-1' } });
    const standard = await deadLetterOf(pending('8f0c-1', 'b', 'user-7'));
    expect(standard.groupId).toBeUndefined();
    expect(standard.deduplicationId).toBeUndefined();
  });

  it('go through the encoder, and the size rule applies to what it returns', async () => {
    const p = pending('m1', 'z'.repeat(1000));
    const out = deadLetterOf(p, (body, attributes, meta) => ({ body: `enc:${body.length}:${meta.sourceMessageId}`, attributes: { ...attributes, encoding: 'test' } }));
    expect(out.body).toBe('enc:1000:m1');
    expect(out.attributes).toMatchObject({ encoding: 'test', reason: 'invalid_json' });
    expect(sqsMessageBytes(out)).toBeLessThan(200);
  });
});
