import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { readBodies } from '../../src/cli/commands/send.js';
import { ConfigError } from '../../src/config/errors.js';

const dir = mkdtempSync(join(tmpdir(), 'send-file-'));
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
