const closed = new AbortController();
let watching = false;

/** Aborted once stdout's reader has gone away (EPIPE: `login-etl dlq list --json | head -1`). */
export const stdoutClosed: AbortSignal = closed.signal;

/**
 * A reader that leaves early ends the output, not the command: no crash and no stack trace. Commands go on
 * to their normal end (what they hold is released, their summary still goes to stderr); those that stream
 * pages (`dlq list`) stop reading at the next page.
 */
export function watchStdout(): void {
  if (watching) return;
  watching = true;
  process.stdout.on('error', (err: NodeJS.ErrnoException) => {
    if (err.code !== 'EPIPE') throw err;
    closed.abort();
  });
}
