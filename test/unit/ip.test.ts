import { describe, expect, it } from 'vitest';
import { canonicalIp } from '../../src/transform/ip.js';

describe('canonicalIp', () => {
  it.each([
    ['199.172.111.135', '199.172.111.135'],
    ['  10.0.0.1\n', '10.0.0.1'],
    ['2001:DB8:0:0:0:0:0:1', '2001:db8::1'],
    ['2001:0db8:0000:0000:0001:0000:0000:0001', '2001:db8::1:0:0:1'],
    ['::FFFF:1.2.3.4', '1.2.3.4'],
    ['0:0:0:0:0:ffff:7f00:1', '127.0.0.1'],
    ['::1', '::1'],
    ['::', '::'],
  ])('canonicalises %j to %j', (input, expected) => {
    expect(canonicalIp(input)).toBe(expected);
  });

  it.each(['', '999.1.1.1', '01.2.3.4', '1.2.3', 'fe80::1%eth0', 'not-an-ip', '1.2.3.4.5', '::ffff:999.1.1.1', '1:2:3:4:5:6:7:8:9'])(
    'rejects %j',
    (input) => {
      expect(canonicalIp(input)).toBeUndefined();
    },
  );
});
