// undici's Pool class on its own (see client.ts): the package's index loads all of undici (fetch, WebSocket,
// caches, mocks), ~540 KB of code compiled at every start, for one class.
declare module 'undici/lib/dispatcher/pool.js' {
  import Pool from 'undici/types/pool';
  export default Pool;
}
