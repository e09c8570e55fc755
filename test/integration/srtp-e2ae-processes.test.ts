/**
 * e2ae SRTP through a context with the relay on a worker process (`media.workerMode: process`; the
 * suite: srtp-e2ae-suite.ts): the spec crosses the IPC channel, the child loads the addon and builds
 * the libsrtp contexts, counters in shared memory. Ports 49000-49999.
 */
import { srtpE2aeSuite } from './srtp-e2ae-suite.js';

srtpE2aeSuite({ base: 49000, workers: 1, mode: 'process' });
