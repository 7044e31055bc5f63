// What the lab needs to know about one recursive resolver: its config files, its foreground
// command line, where it comes from, and whether it can send EDNS Client Subnet.
export const RESOLVER_KINDS = ['unbound', 'bind', 'knot', 'powerdns'] as const;
export type ResolverKind = (typeof RESOLVER_KINDS)[number];

export interface ResolverOptions {
  /** The lab's state directory: configs, logs, caches. */
  dir: string;
  /** Send ECS to the NTSv2 server (only where the resolver can). */
  ecs: boolean;
}

export interface ResolverSpec {
  kind: ResolverKind;
  /** Product name for reports. */
  product: string;
  /** The daemon binary (preflight) and its Debian package. */
  binary: string;
  pkg: string;
  /** Can it send ECS as a recursive resolver? (measured: src/lab/README.md, "ECS") */
  sendsEcs: boolean;
  /** File name (relative to dir) -> text. Directories a config names are created by the caller (`dirs`). */
  files(o: ResolverOptions): Record<string, string>;
  dirs?(o: ResolverOptions): string[];
  /** Where it keeps its cache on disk (emptied for a fresh start), if anywhere. */
  cacheDirs?(o: ResolverOptions): string[];
  /** Runs in the foreground, logging to stdout/stderr. */
  argv(o: ResolverOptions): string[];
  /** Prints the version; the first match of versionPattern is it. */
  versionArgs: string[];
  versionPattern: RegExp;
}
