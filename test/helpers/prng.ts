// The seeded PRNG lives with the simulator (src/sim/random.ts); the test worlds use the same one.
export { prng } from '../../src/sim/random.js';
