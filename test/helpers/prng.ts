// The PRNG lives in src/util (the lab's load generator uses it too).
export { prng } from '../../src/util/prng.js';
