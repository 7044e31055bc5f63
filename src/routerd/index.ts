// The NTS router daemon (`ntss router`): NTS socket + RC scheduler + data plane.
export { startRouter, createDataPlane, type DataPlaneFactory, type RouterCounters, type RunningRouter, type StartRouterOptions } from './router.js';
export { ntsResponseFor, eventFields } from './events.js';
