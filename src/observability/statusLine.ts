/**
 * One owner for a terminal stream: a status line (the drain's progress bar) stays on the bottom line, and
 * everything else written to the stream (log lines, Node's own warnings) is printed above it. Each write
 * clears the status line, prints the text, and redraws the status line, in one write to the terminal.
 * While a status line is shown, the stream's own `write` goes through here too, so nothing can glue to it.
 */

export interface StatusLine {
  /** Shows `text` as the status line (cut to the terminal's width), or replaces the one shown. */
  set(text: string): void;
  /** Writes text above the status line. Text is printed by whole lines; a partial line waits for its end. */
  write(chunk: string): void;
  /** Removes the status line (printing any partial line held back); later writes go straight through. */
  clear(): void;
}

type Write = (chunk: string) => void;

const CLEAR_LINE = '\r\x1b[K';

export function createStatusLine(stream: NodeJS.WriteStream): StatusLine {
  const original = stream.write;
  const raw: Write = (chunk) => void original.call(stream, chunk);
  let status: string | undefined;
  let partial = '';

  // A line wider than the terminal would wrap, and the next redraw would clear only its last row.
  const fit = (text: string) => {
    const columns = stream.columns ?? 0;
    return columns > 1 && text.length >= columns ? text.slice(0, columns - 1) : text;
  };

  // Stands in for stream.write while a status line is shown.
  const intercept = function (this: unknown, chunk: unknown, encoding?: unknown, cb?: unknown): boolean {
    const text = typeof chunk === 'string' ? chunk : Buffer.from(chunk as Uint8Array).toString(typeof encoding === 'string' ? (encoding as BufferEncoding) : 'utf8');
    line.write(text);
    const done = typeof encoding === 'function' ? encoding : cb;
    if (typeof done === 'function') process.nextTick(done as () => void);
    return true;
  } as typeof stream.write;

  const line: StatusLine = {
    set(text) {
      if (status === undefined) stream.write = intercept;
      status = fit(text);
      raw(`${CLEAR_LINE}${status}`);
    },
    write(chunk) {
      if (status === undefined) return raw(chunk);
      const text = partial + chunk;
      const end = text.lastIndexOf('\n') + 1;
      partial = text.slice(end);
      if (end > 0) raw(`${CLEAR_LINE}${text.slice(0, end)}${status}`);
    },
    clear() {
      if (status === undefined) return;
      status = undefined;
      stream.write = original;
      raw(`${CLEAR_LINE}${partial}`);
      partial = '';
    },
  };
  return line;
}

let stderrLine: StatusLine | undefined;

/** The status line of this process's stderr (shared by the logger and the progress bar); removed at exit. */
export function stderrStatusLine(): StatusLine {
  if (!stderrLine) {
    const line = createStatusLine(process.stderr);
    process.on('exit', () => line.clear());
    stderrLine = line;
  }
  return stderrLine;
}
