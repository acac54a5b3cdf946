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
/** Sets a V8 flag unless the node command line already gave one matching `given` (that one wins). */
const v8Default = (given, flag) => {
  if (!process.execArgv.some((a) => given.test(a))) setFlagsFromString(flag);
};
// Grow the heap by at most 75% after each full GC instead of up to 300%: at full speed this holds peak RSS
// near 130 MB rather than 150–170 MB, at no measured cost in throughput (docs/performance.md).
v8Default(/heap[-_]growing[-_]percent/, '--heap-growing-percent=75');
// undici parses HTTP with llhttp (WebAssembly). V8 would recompile its large parser function with TurboFan
// after the first requests: ~0.2 s of CPU and ~36 MB of memory on a background thread, which process exit also
// waits for. Liftoff's code alone is enough for the responses SQS sends: 20–28% less CPU for a 2,000-message
// drain, and none lost at 200,000 (docs/performance.md).
v8Default(/liftoff|wasm[-_]tier/, '--liftoff-only');
const { main } = await import('../dist/bundle/main.js');
process.exit(await main(process.argv));
