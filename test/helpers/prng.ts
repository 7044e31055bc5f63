// The PRNG lives in src/util (the simulator and the lab's load generator use it too).
export { prng } from '../../src/util/prng.js';
