import type { TestProject } from 'vitest/node';
import { startEmbeddedPostgres, startEmbeddedSqs, type EmbeddedPostgres, type EmbeddedSqs } from '../../src/demo/embedded.js';
import { startMoto, type MotoServer } from './moto.js';

declare module 'vitest' {
  export interface ProvidedContext {
    /** Admin URL of a real PostgreSQL: TEST_DATABASE_URL, or an embedded server started for the run. */
    pgAdminUrl: string;
    /** HTTP endpoint of a real fauxqs SQS server started for the run. */
    sqsEndpoint: string;
    /** HTTP endpoint of a real moto_server (KMS) started for the run. */
    kmsEndpoint: string;
  }
}

let pg: EmbeddedPostgres | undefined;
let sqs: EmbeddedSqs | undefined;
let moto: MotoServer | undefined;

export async function setup(project: TestProject): Promise<void> {
  const [s, m] = await Promise.allSettled([startEmbeddedSqs(), startMoto()]);
  if (s.status === 'fulfilled') sqs = s.value;
  if (m.status === 'fulfilled') moto = m.value;
  if (s.status === 'rejected' || m.status === 'rejected') {
    await teardown();
    throw s.status === 'rejected' ? s.reason : (m as PromiseRejectedResult).reason;
  }
  const external = process.env.TEST_DATABASE_URL;
  if (!external) {
    pg = await startEmbeddedPostgres();
  }
  project.provide('pgAdminUrl', external ?? pg?.url ?? '');
  project.provide('sqsEndpoint', sqs?.endpoint ?? '');
  project.provide('kmsEndpoint', moto?.endpoint ?? '');
}

export async function teardown(): Promise<void> {
  await sqs?.stop();
  await moto?.stop();
  if (!pg) return;
  await pg.destroy();
}

