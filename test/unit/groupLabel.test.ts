import { describe, expect, it } from 'vitest';
import { createGroupLabel, ephemeralGroupLabel } from '../../src/masking/groupLabel.js';

const key = (b: number) => Buffer.alloc(32, b);
const ring = (primary: number) => ({ primary, keys: new Map([[1, key(1)], [2, key(2)]]) });

describe('group labels: how a MessageGroupId is shown', () => {
  it('is a keyed, stable fingerprint: equal ids give equal labels, and nothing of the id shows', () => {
    const label = createGroupLabel(ring(1));
    const a = label('203.0.113.101');
    expect(a).toMatch(/^g1\.[A-Za-z0-9_-]{16}$/);
    expect(createGroupLabel(ring(1))('203.0.113.101')).toBe(a);
    expect(label('203.0.113.102')).not.toBe(a);
    expect(a).not.toContain('203');
  });

  it('depends on the key version and on PII_CONTEXT', () => {
    const a = createGroupLabel(ring(1))('DEVSECRET-101');
    const b = createGroupLabel(ring(2))('DEVSECRET-101');
    expect(b).toMatch(/^g2\./);
    expect(b.slice(3)).not.toBe(a.slice(3));
    expect(createGroupLabel(ring(1), 'tenant-a')('DEVSECRET-101')).not.toBe(a);
  });

  it('without a keyring, labels hold within one process only', () => {
    const one = ephemeralGroupLabel();
    expect(one('g')).toBe(one('g'));
    expect(ephemeralGroupLabel()('g')).not.toBe(one('g'));
  });
});
