import { createHmac } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { hmacSha256Base64url } from '../../src/hash.js';

const hex = (s: string) => Buffer.from(s, 'hex');
const b64url = (h: string) => hex(h).toString('base64url');

/** RFC 4231 §4: HMAC-SHA-256 test cases with text data (1, 2, 6 and 7; 6 and 7 have a 131-byte key, hashed first). */
const RFC4231: [string, Buffer, string, string][] = [
  ['case 1', Buffer.alloc(20, 0x0b), 'Hi There', 'b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7'],
  ['case 2', Buffer.from('Jefe'), 'what do ya want for nothing?', '5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843'],
  ['case 6', Buffer.alloc(131, 0xaa), 'Test Using Larger Than Block-Size Key - Hash Key First', '60e431591ee0b67f0d8a26aacbf5b77f8e0bc6213728c5140546040f0ee37f54'],
  [
    'case 7',
    Buffer.alloc(131, 0xaa),
    'This is a test using a larger than block-size key and a larger than block-size data. The key needs to be hashed before being used by the HMAC algorithm.',
    '9b09ffa71b942fcb27635fbcd5b0e944bfdc63644f0713938a7f51535c3a35e2',
  ],
];

describe('HMAC-SHA-256 on one-shot hashes', () => {
  it.each(RFC4231)('RFC 4231 %s', (_name, key, data, mac) => {
    expect(hmacSha256Base64url(key)(data)).toBe(b64url(mac));
  });

  it('equals createHmac on random keys and values, astral text and long values included, call after call', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 0, maxLength: 200 }), fc.array(fc.string({ unit: 'binary', maxLength: 400 }), { minLength: 1, maxLength: 5 }), (key, values) => {
        const mac = hmacSha256Base64url(key);
        for (const v of values) expect(mac(v)).toBe(createHmac('sha256', key).update(v, 'utf8').digest('base64url'));
      }),
      { numRuns: 300 },
    );
  });

  it('a long value after short ones does not change what the short ones give', () => {
    const key = Buffer.alloc(32, 7);
    const mac = hmacSha256Base64url(key);
    const short = mac('10.0.0.1');
    expect(mac('x'.repeat(5000))).toBe(createHmac('sha256', key).update('x'.repeat(5000)).digest('base64url'));
    expect(mac('10.0.0.1')).toBe(short);
  });
});
