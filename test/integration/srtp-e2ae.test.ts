/** e2ae SRTP through a context, the relay on the main thread (the suite: srtp-e2ae-suite.ts). Ports 23000-23999. */
import { srtpE2aeSuite } from './srtp-e2ae-suite.js';

srtpE2aeSuite({ base: 23000, workers: 0 });
