import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readBodies, withFifoIds } from '../../src/cli/commands/send.js';
import { ConfigError } from '../../src/config/errors.js';
import { DEFAULT_FIELD_MAP } from '../../src/transform/mapping.js';
import { tempDir } from '../helpers/tmp.js';

const dir = tempDir('send-file-');
let n = 0;
const file = (text: string) => {
  const p = join(dir, `f${n++}.json`);
  writeFileSync(p, text);
  return p;
};
const event = { user_id: 'u-1', device_type: 'ios', ip: '203.0.113.5', device_id: 'd-1', locale: null, app_version: '1.2.3' };

describe('send --file: what a file holds', () => {
  it('one pretty-printed JSON object is one message', () => {
    expect(readBodies(file(`${JSON.stringify(event, null, 2)}\n`))).toEqual([JSON.stringify(event)]);
    // A byte-order mark and CRLF line ends change nothing.
    expect(readBodies(file(`\uFEFF${JSON.stringify(event, null, 4).replace(/\n/g, '\r\n')}\r\n`))).toEqual([JSON.stringify(event)]);
  });

  it('a JSON array is one message per element, pretty-printed or not', () => {
    const arr = [event, { ...event, user_id: 'u-2' }, 'not an object'];
    expect(readBodies(file(JSON.stringify(arr, null, 2)))).toEqual(arr.map((x) => JSON.stringify(x)));
  });

  it('NDJSON is one message per non-empty line, sent as written', () => {
    const lines = [JSON.stringify(event), '', `{"user_id": "u-2",  "device_type":"ios"}`, '[1,2]', '   '];
    expect(readBodies(file(lines.join('\n')))).toEqual([lines[0], lines[2], lines[3]]);
    // A single NDJSON line is also a single JSON value: one message.
    expect(readBodies(file(`${JSON.stringify(event)}\n`))).toHaveLength(1);
  });

  it('anything else is one clear line naming the first bad line, never its content', () => {
    const bad = file(`${JSON.stringify(event)}\n{"ip": "198.51.100.9", oops}\n`);
    const err = (() => {
      try {
        readBodies(bad);
      } catch (e) {
        return e as Error;
      }
      throw new Error('expected a ConfigError');
    })();
    expect(err).toBeInstanceOf(ConfigError);
    expect(err.message).toBe(`${bad} is not a JSON array, one JSON event, or NDJSON: line 2 is not valid JSON; fix the file (one event per line for NDJSON)`);
    expect(err.message).not.toContain('198.51.100.9');
    // Two pretty-printed objects one after the other are neither one value nor NDJSON.
    expect(() => readBodies(file(`${JSON.stringify(event, null, 2)}\n${JSON.stringify(event, null, 2)}\n`))).toThrow(/line 1 is not valid JSON/);
    expect(() => readBodies(file('[{"a":1},'))).toThrow(/starts with "\[" but is not a valid JSON array/);
  });

  it('an empty file, an empty array and a missing file are clear errors too', () => {
    expect(() => readBodies(file(' \n'))).toThrow(/is empty: it should hold a JSON array of events, one JSON event, or NDJSON/);
    expect(() => readBodies(file('[]'))).toThrow(/is an empty JSON array: there is nothing to send/);
    expect(() => readBodies(join(dir, 'missing.json'))).toThrow(/cannot read .*missing\.json \(ENOENT\)/);
  });
});

describe('send to a FIFO queue: group and deduplication ids', () => {
  const body = (user: unknown) => JSON.stringify({ ...event, user_id: user });

  it('--group-id: one group for every message; --dedup message: a new id per message, identical bodies too', () => {
    const out = withFifoIds([body('u-1'), body('u-1')], { groupId: 'logins', dedup: 'message' });
    expect(out.map((m) => m.groupId)).toEqual(['logins', 'logins']);
    expect(out[0]?.deduplicationId).not.toBe(out[1]?.deduplicationId);
  });

  it('--dedup content: the SHA-256 of the body, as ContentBasedDeduplication does', () => {
    const out = withFifoIds([body('u-1'), body('u-1'), body('u-2')], { groupId: 'g', dedup: 'content' });
    expect(out[0]?.deduplicationId).toBe(out[1]?.deduplicationId);
    expect(out[0]?.deduplicationId).toMatch(/^[0-9a-f]{64}$/);
    expect(out[2]?.deduplicationId).not.toBe(out[0]?.deduplicationId);
  });

  it('--group-field: the field\'s value (a nested path too, numbers as text); the fallback for messages without a usable one', () => {
    const nested = JSON.stringify({ client: { id: 42 } });
    expect(withFifoIds([body('u-1'), nested], { groupField: 'client.id', groupId: 'none', dedup: 'message' }).map((m) => m.groupId)).toEqual(['none', '42']);
    const out = withFifoIds([body('u-1'), 'not json', body(''), body('has space'), body('x'.repeat(129)), body({ o: 1 })], { groupField: 'user_id', groupId: 'fallback', dedup: 'message' });
    expect(out.map((m) => m.groupId)).toEqual(['u-1', 'fallback', 'fallback', 'fallback', 'fallback', 'fallback']);
  });

  it('without a fallback, one line naming the message by position, never its content; a bad --group-id is refused', () => {
    expect(() => withFifoIds([body('u-1'), body('203.0.113.9 x')], { groupField: 'user_id', dedup: 'message' })).toThrow(
      new ConfigError('message 2 has no usable user_id for a MessageGroupId (missing, not JSON, or not 1 to 128 letters, digits or ASCII punctuation); add --group-id ID as the group of such messages'),
    );
    expect(() => withFifoIds([body('u-1')], { groupId: 'two words', dedup: 'message' })).toThrow(/--group-id must be 1 to 128 letters, digits or ASCII punctuation/);
  });

  it('refuses ip and device_id as the group field, where FIELD_MAP puts them, since SQS keeps group ids unmasked', () => {
    const e = JSON.stringify(event);
    expect(() => withFifoIds([e], { groupField: 'ip', dedup: 'message' })).toThrow(
      new ConfigError('--group-field ip would make each raw ip a MessageGroupId, which SQS keeps and shows unmasked; group by user_id or another field that is not ip or device_id'),
    );
    expect(() => withFifoIds([e], { groupField: 'device_id', dedup: 'message' })).toThrow(/raw device_id a MessageGroupId/);
    const fieldMap = { ...DEFAULT_FIELD_MAP, device_id: 'client.device' };
    expect(() => withFifoIds([e], { groupField: 'client.device', dedup: 'message', fieldMap })).toThrow(/raw device_id/);
    // Renamed away, `device_id` is just another field.
    expect(withFifoIds([e], { groupField: 'device_id', dedup: 'message', fieldMap }).map((m) => m.groupId)).toEqual(['d-1']);
  });
});
