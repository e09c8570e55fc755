/**
 * e2ae SRTP through a context with the relay on two worker threads (the suite: srtp-e2ae-suite.ts): the
 * worker builds the transforms from the legs' specs, counts into shared memory and sends the events
 * (contexts, key lifetime) back. Ports 48000-48999.
 */
import { srtpE2aeSuite } from './srtp-e2ae-suite.js';

srtpE2aeSuite({ base: 48000, workers: 2 });
