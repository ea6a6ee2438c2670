import { PortTakenError, SharedIcePort, type SharedIcePortOptions } from "./shared-port";

/** What a lease's port came to: the open port, or why there is none (then viewers take ports of their own). */
export type SharedPortOutcome =
  | { readonly port: SharedIcePort; readonly error?: undefined }
  | { readonly port?: undefined; readonly error: Error; readonly taken: boolean };

/** One user's hold on the shared port; release() once, when the user closes. */
export interface SharedPortLease {
  /** Settles once the port is open or could not be opened; never rejects. */
  readonly ready: Promise<SharedPortOutcome>;
  /** Resolves once the port is closed when this was its last user. */
  release(): Promise<void>;
}

export type SharedPortOpener = (opts: SharedIcePortOptions) => Promise<SharedIcePort>;

interface Entry {
  users: number;
  readonly outcome: Promise<SharedPortOutcome>;
}

function keyOf(opts: SharedIcePortOptions): string {
  return `${opts.bindAddress ?? "*"}|${opts.port}|${opts.tcp === true ? "tcp" : "udp"}`;
}

/**
 * The process's shared ICE ports, opened by their first user and closed after their last one, so a
 * redeploy leaves no socket behind. A port being closed is reopened only once the close has finished:
 * a full redeploy closes every node before it starts the new ones, and the new ones must not find the
 * old socket still bound.
 */
export class SharedPortLeases {
  private readonly entries = new Map<string, Entry>();
  private readonly closing = new Map<string, Promise<void>>();

  constructor(private readonly open: SharedPortOpener = (opts) => SharedIcePort.open(opts)) {}

  acquire(opts: SharedIcePortOptions): SharedPortLease {
    const key = keyOf(opts);
    let entry = this.entries.get(key);
    if (entry === undefined) {
      const after = this.closing.get(key) ?? Promise.resolve();
      const outcome = after
        .then(() => this.open(opts))
        .then(
          (port): SharedPortOutcome => ({ port }),
          (err: unknown): SharedPortOutcome => ({
            error: err instanceof Error ? err : new Error(String(err)),
            taken: err instanceof PortTakenError,
          }),
        );
      entry = { users: 0, outcome };
      this.entries.set(key, entry);
    }
    const held = entry;
    held.users++;
    let released = false;
    return {
      ready: held.outcome,
      release: async () => {
        if (released) return;
        released = true;
        held.users--;
        if (held.users > 0) return;
        if (this.entries.get(key) === held) this.entries.delete(key);
        const closed = held.outcome
          .then((outcome) => outcome.port?.close())
          .catch(() => undefined)
          .finally(() => {
            if (this.closing.get(key) === closed) this.closing.delete(key);
          });
        this.closing.set(key, closed);
        await closed;
      },
    };
  }

  /** Ports open or opening (for tests: none once every user released). */
  get size(): number {
    return this.entries.size + this.closing.size;
  }
}
