/** fauxqs as its own process, without request logging (its CLI forces a log line per request, which would be measured too). */
import { startFauxqs } from 'fauxqs';

const server = await startFauxqs({ port: Number(process.env.FAUXQS_PORT ?? 4566), logger: false });
process.once('SIGTERM', () => void server.stop().then(() => process.exit(0)));
