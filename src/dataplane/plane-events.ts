// What every data plane does the same way: count, and tell listeners about mappings. A
// listener that throws is logged, never allowed to break the data plane.
import { Counters } from '../util/counters.js';
import type { Logger } from '../util/log.js';
import type { DataPlaneMappingEvent } from './types.js';

export class PlaneEvents {
  private readonly counts = new Counters();
  private readonly listeners: ((e: DataPlaneMappingEvent) => void)[] = [];

  constructor(private readonly log?: Logger) {}

  on(listener: (e: DataPlaneMappingEvent) => void): void {
    this.listeners.push(listener);
  }

  count(name: string): void {
    this.counts.inc(name);
  }

  snapshot(): Record<string, number> {
    return this.counts.snapshot();
  }

  emit(e: DataPlaneMappingEvent): void {
    this.count(e.type);
    for (const l of this.listeners) {
      try {
        l(e);
      } catch (err) {
        this.log?.error('dataplane-listener-error', { error: (err as Error).message });
      }
    }
  }
}
