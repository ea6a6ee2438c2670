import { type ChildProcess, fork } from "node:child_process";
import path from "node:path";
import type { FrameEntries } from "./frame-counts";
import type { HostCommand, HostReply, HostStats, ViewerKind, ViewerTraces } from "./protocol";

/** A command as the caller writes it: the host pairs replies by the id it is given. */
type WithoutId<T> = T extends unknown ? Omit<T, "id"> : never;

export interface JoinOptions {
  readonly kind?: ViewerKind;
  /** POST to P/whep (give that URL) and keep the resource for a DELETE on leave. */
  readonly whep?: boolean;
  /** Watch this mountpoint of Janus's streaming plugin; the URL is then Janus's HTTP API. */
  readonly janusMountpoint?: number;
  /** The viewers' own address in 127.0.0.0/8 (answering viewers only). Default 127.0.0.1. */
  readonly localAddress?: string;
}

export interface LeaveOptions {
  /** The socket vanishes: no DELETE, no DTLS alert. */
  readonly abrupt?: boolean;
  /** WHEP DELETE first (viewers that joined with `whep`). */
  readonly delete?: boolean;
}

/**
 * The viewers' own process (test/bench/viewer-host.ts, forked with an IPC channel), driven over
 * test/bench/protocol.ts: their CPU and sockets are apart from the server's and the caller's.
 */
export class ViewerHostClient {
  private readonly child: ChildProcess;
  private nextId = 1;
  private readonly pending = new Map<number, (reply: HostReply) => void>();
  /** Viewers joined and not yet told to leave. */
  viewers = 0;

  constructor(private readonly log: (line: string) => void = () => {}) {
    this.child = fork(path.join(__dirname, "viewer-host.js"), [], {
      stdio: ["ignore", "inherit", "inherit", "ipc"],
    });
    this.child.on("message", (reply: HostReply) => {
      this.pending.get(reply.id)?.(reply);
      this.pending.delete(reply.id);
    });
    this.child.once("exit", (code, signal) => {
      for (const [id, resolve] of this.pending) {
        resolve({ id, ok: false, error: `viewer host exited (${code ?? signal})` });
      }
      this.pending.clear();
    });
  }

  /** The host's process id (for signals: a test may stop and continue it to throttle its reads). */
  get pid(): number | undefined {
    return this.child.pid;
  }

  private async call(command: WithoutId<HostCommand>): Promise<HostReply & { ok: true }> {
    const id = this.nextId++;
    const reply = await new Promise<HostReply>((resolve) => {
      if (this.child.exitCode !== null || this.child.signalCode !== null) {
        resolve({ id, ok: false, error: "viewer host has exited" });
        return;
      }
      this.pending.set(id, resolve);
      this.child.send({ ...command, id });
    });
    if (!reply.ok) throw new Error(`viewer host: ${command.cmd}: ${reply.error}`);
    return reply;
  }

  /** Joins `count` viewers; resolves with how many connected. */
  async join(count: number, offerUrl: string, opts: JoinOptions = {}): Promise<number> {
    if (count <= 0) return 0;
    const reply = await this.call({
      cmd: "join",
      count,
      kind: opts.kind ?? "light",
      offerUrl,
      ...(opts.whep === true ? { whep: true } : {}),
      ...(opts.janusMountpoint !== undefined ? { janusMountpoint: opts.janusMountpoint } : {}),
      ...(opts.localAddress !== undefined ? { localAddress: opts.localAddress } : {}),
    });
    const joined = reply.joined ?? 0;
    this.viewers += joined;
    if (joined < count) this.log(`only ${joined} of ${count} viewers connected`);
    return joined;
  }

  async leave(count: number | "all", opts: LeaveOptions = {}): Promise<void> {
    await this.call({ cmd: "leave", count, ...opts });
    this.viewers = count === "all" ? 0 : Math.max(0, this.viewers - count);
  }

  async setRecvBuffer(bytes: number): Promise<void> {
    await this.call({ cmd: "recvBuffer", bytes });
  }

  async reset(): Promise<void> {
    await this.call({ cmd: "reset" });
  }

  async stats(): Promise<HostStats> {
    const reply = await this.call({ cmd: "stats" });
    if (!reply.stats) throw new Error("viewer host: no stats");
    return reply.stats;
  }

  /** Each viewer's video packets per RTP timestamp since the last reset. */
  async frames(): Promise<readonly FrameEntries[]> {
    return (await this.call({ cmd: "frames" })).frames ?? [];
  }

  /** Traces the first and the last viewer from now; the ports the server sends them to, first viewer's first. */
  async startTrace(): Promise<readonly number[]> {
    return (await this.call({ cmd: "trace", on: true })).ports ?? [];
  }

  /** Stops; their traces, first viewer's first. */
  async stopTrace(): Promise<ViewerTraces> {
    return (await this.call({ cmd: "trace", on: false })).traces ?? [];
  }

  /** Closes every viewer (close_notify) and ends the process. */
  async exit(): Promise<void> {
    if (this.child.signalCode === null && this.child.exitCode === null) this.child.kill("SIGCONT");
    await this.call({ cmd: "exit" }).catch(() => undefined);
    if (this.child.exitCode === null) this.child.kill();
  }
}
