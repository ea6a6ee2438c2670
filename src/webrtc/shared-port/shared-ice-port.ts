import type { RTCPeerConnection } from "werift";

// STUB of the contract in /work/wt/COMMON.md, so the Node-RED side compiles before the mux helper's
// module lands; it never opens a port (open() always rejects), so every viewer keeps its own port.

export interface SharedIcePortOptions {
  port: number;
  bindAddress?: string;
  tcp?: boolean;
}

export class PortTakenError extends Error {
  constructor(readonly port: number) {
    super(`port ${port} is in use`);
    this.name = "PortTakenError";
  }
}

export class SharedIcePort {
  private constructor(
    readonly port: number,
    readonly tcp: boolean,
  ) {}

  static open(opts: SharedIcePortOptions): Promise<SharedIcePort> {
    return Promise.reject(new PortTakenError(opts.port));
  }

  attach(_pc: RTCPeerConnection, _addresses: readonly string[]): void {
    throw new Error("stub");
  }

  close(): Promise<void> {
    return Promise.resolve();
  }
}
