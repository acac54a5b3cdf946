#!/usr/bin/env node
import { existsSync } from 'node:fs';
import { setFlagsFromString } from 'node:v8';

// A checkout installed without dev dependencies (`npm ci --omit=dev` on a fresh clone) has no compiler and so no dist/.
// The CLI runs from dist/bundle/ (scripts/bundle.mjs): one module graph, so the signal handlers installed here
// are the ones the commands see.
if (!existsSync(new URL('../dist/bundle/main.js', import.meta.url))) {
  process.stderr.write('login-etl: dist/ is not built; run `npm ci` (with dev dependencies) in the checkout, or install the release tarball (README, "Running in production")\n');
  process.exit(2);
}
const { installSignalHandlers } = await import('../dist/bundle/signals.js');

// First of all: from here on a SIGINT/SIGTERM is recorded and handled by the command (a graceful stop, or
// an exit with 130/143), never the default action that kills the process mid-start-up.
installSignalHandlers();
if (process.env.LOGIN_ETL_DEBUG === '1') process.stderr.write(`login-etl: debug: stop signals handled from here on (pid ${process.pid})\n`);

// Node 20 is supported but past end of life: `run` logs one line about it instead of the AWS SDK's banner.
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
// Grow the heap by at most 75% after each full GC instead of up to 300%: at full speed this holds peak RSS
// near 130 MB rather than 150–170 MB, at no measured cost in throughput (README, Performance).
// A value given on the node command line (`node --heap-growing-percent=N bin/login-etl.js`) wins.
if (!process.execArgv.some((a) => /heap[-_]growing[-_]percent/.test(a))) {
  setFlagsFromString('--heap-growing-percent=75');
}
// undici parses HTTP with llhttp (WebAssembly). V8 recompiles its large parser function with TurboFan once
// it has run for a budget of work, which the first few requests use up; that compile takes ~200 ms on a
// background thread, and process exit waits for it, so a drain of an empty queue paid it in wall time
// (0.58 s instead of 0.45 s). With this budget the recompile comes some ten requests later: a short command
// exits without it, and a drain has it within its first second (no difference measured in steady state).
if (!process.execArgv.some((a) => /wasm[-_]tiering[-_]budget/.test(a))) {
  setFlagsFromString('--wasm-tiering-budget=50000000');
}
const { main } = await import('../dist/bundle/main.js');
process.exit(await main(process.argv));
