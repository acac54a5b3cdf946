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
  if (!external) pg = await startEmbeddedPostgres();
  project.provide('pgAdminUrl', external ?? pg?.url ?? '');
  project.provide('sqsEndpoint', sqs.endpoint);
}

export async function teardown(): Promise<void> {
  await sqs?.stop();
  await pg?.destroy();
}
