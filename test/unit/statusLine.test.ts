import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createStatusLine } from '../../src/observability/statusLine.js';

const CLEAR = '\r\x1b[K';

/** A stand-in for a terminal stream: records every write as it reaches the "terminal". */
function fakeTty(columns?: number) {
  const writes: string[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      writes.push(chunk.toString());
      cb();
    },
  }) as unknown as NodeJS.WriteStream;
  Object.assign(stream, { columns, isTTY: true });
  return { stream, writes };
}

/** What a terminal shows after the writes: `\r\x1b[K` clears the current line, `\n` starts a new one. */
function screen(writes: readonly string[]): string[] {
  const lines: string[] = [''];
  for (const w of writes) {
    for (const part of w.split(/(\r\x1b\[K|\n)/)) {
      if (part === CLEAR) lines[lines.length - 1] = '';
      else if (part === '\n') lines.push('');
      else lines[lines.length - 1] += part;
    }
  }
  return lines;
}

describe('status line (one owner of a terminal stream)', () => {
  it('keeps the status on the bottom line and prints log lines, whole, above it', () => {
    const { stream, writes } = fakeTty(80);
    const line = createStatusLine(stream);
    line.write('before the bar\n');
    line.set('[#---] 10%');
    line.write('first log line\n');
    line.set('[##--] 50%');
    line.write('second ');
    line.write('log line\nthird log line\n');
    expect(screen(writes)).toEqual(['before the bar', 'first log line', 'second log line', 'third log line', '[##--] 50%']);
    // Each log write is one write to the terminal: clear the bar, the lines, the bar again.
    expect(writes.at(-1)).toBe(`${CLEAR}second log line\nthird log line\n[##--] 50%`);
    line.clear();
    expect(screen(writes)).toEqual(['before the bar', 'first log line', 'second log line', 'third log line', '']);
  });

  it('routes other writes to the stream (e.g. Node warnings) above the bar while it is shown, and restores the stream after', () => {
    const { stream, writes } = fakeTty(80);
    const original = stream.write;
    const line = createStatusLine(stream);
    line.set('[bar]');
    stream.write('(node:1) Warning: something\n');
    stream.write(Buffer.from('bytes too\n'));
    expect(screen(writes)).toEqual(['(node:1) Warning: something', 'bytes too', '[bar]']);
    line.clear();
    expect(stream.write).toBe(original);
    stream.write('after\n');
    expect(screen(writes)).toEqual(['(node:1) Warning: something', 'bytes too', 'after', '']);
  });

  it('prints a partial line held back when the bar is removed, and cuts the bar to the terminal width', () => {
    const { stream, writes } = fakeTty(20);
    const line = createStatusLine(stream);
    line.set('x'.repeat(50));
    expect(screen(writes)).toEqual(['x'.repeat(19)]);
    line.write('no newline yet');
    expect(screen(writes)).toEqual(['x'.repeat(19)]);
    line.clear();
    expect(screen(writes)).toEqual(['no newline yet']);
  });

  it('does not cut the bar when the terminal reports no width', () => {
    const { stream, writes } = fakeTty(0);
    createStatusLine(stream).set('y'.repeat(120));
    expect(screen(writes)).toEqual(['y'.repeat(120)]);
  });
});
