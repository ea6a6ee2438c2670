import "../helpers/loopback-namespace";
import assert from "node:assert/strict";
import { createSocket, type RemoteInfo, type Socket as UdpSocket } from "node:dgram";
import { connect } from "node:net";
import { classes, Message, methods } from "werift";
import type { SharedIcePortStats } from "../../src/webrtc/shared-port/shared-ice-port";
import { fuzzCase, fuzzSeed, SeededRandom } from "../helpers/seeded-random";
import {
  check,
  credentials,
  decodeReceived,
  frame,
  frameCount,
  receivedFrames,
  SharedPortRig,
} from "../helpers/shared-port-rig";
import { waitFor } from "../helpers/wait";
import type { WeriftViewer } from "../helpers/werift-viewer";

// 10,000 seeded random and mutated datagrams at the shared UDP port and 10,000 random and mutated
// ICE-TCP streams at the shared TCP port, while two werift viewers play through them: nothing
// crashes, the viewers keep receiving decodable frames, the port's tables stay bounded, and no
// unauthenticated input gets a single byte back.
// Replay one case: FUZZ_SEED=<seed> FUZZ_CASE=<index> mocha dist/test/integration/shared-port-fuzz.test.js

const UDP_SEED = fuzzSeed(0x5ea7ed);
const TCP_SEED = fuzzSeed(0x7c9f00d);
const ONLY = fuzzCase();
const CASES = 10_000;

/** Records uncaught exceptions and unhandled rejections while `run` goes on. */
async function noStrayErrors<T>(run: () => Promise<T>): Promise<T> {
  const stray: unknown[] = [];
  const record = (error: unknown) => stray.push(error);
  process.on("uncaughtException", record);
  process.on("unhandledRejection", record);
  try {
    const result = await run();
    await new Promise((resolve) => setImmediate(resolve));
    assert.deepEqual(stray.map(String), [], "uncaught exceptions or unhandled rejections");
    return result;
  } finally {
    process.off("uncaughtException", record);
    process.off("unhandledRejection", record);
  }
}

/** A STUN header (random class/method or binding request) with random attributes. */
function stunShaped(rng: SeededRandom): Buffer {
  const attributes: Buffer[] = [];
  const count = rng.int(6);
  for (let i = 0; i < count; i++) {
    const length = rng.int(40);
    const attribute = Buffer.alloc(4 + length + ((4 - (length % 4)) % 4));
    attribute.writeUInt16BE(rng.pick([0x0006, 0x0008, 0x8028, 0x0024, 0x8029, 0x802a, rng.int(0x10000)]), 0);
    attribute.writeUInt16BE(rng.chance(0.8) ? length : rng.int(0x10000), 2);
    rng.bytes(length).copy(attribute, 4);
    attributes.push(attribute);
  }
  const body = Buffer.concat(attributes);
  const header = Buffer.alloc(20);
  header.writeUInt16BE(rng.chance(0.5) ? 0x0001 : rng.int(0x4000), 0);
  header.writeUInt16BE(rng.chance(0.9) ? body.length : rng.int(0x10000), 2);
  header.writeUInt32BE(rng.chance(0.9) ? 0x2112a442 : rng.int(0x100000000), 4);
  rng.bytes(12).copy(header, 8);
  return Buffer.concat([header, body]);
}

/** A valid check of a viewer, changed so that it is no longer valid (never the original). */
function mutatedCheck(rng: SeededRandom, ufrag: string, password: string): Buffer {
  const original = check(ufrag, password, rng.chance(0.5) ? "hiCb" : "zzzz").bytes;
  const out = Buffer.from(original);
  switch (rng.int(5)) {
    case 0: {
      const flips = 1 + rng.int(4);
      for (let i = 0; i < flips; i++) {
        const at = rng.int(out.length);
        out[at] = (out[at] as number) ^ (1 + rng.int(255));
      }
      return out;
    }
    case 1:
      return out.subarray(0, rng.int(out.length));
    case 2:
      return Buffer.concat([out, rng.bytes(1 + rng.int(64))]);
    case 3:
      // Signed with a wrong password, or for another ufrag.
      return rng.chance(0.5)
        ? check(ufrag, `${password}x`).bytes
        : check(rng.bytes(12).toString("hex"), password).bytes;
    default: {
      out.writeUInt16BE(rng.int(0x10000), 2);
      return out.equals(original) ? out.subarray(1) : out;
    }
  }
}

/** One fuzz datagram. */
function datagram(rng: SeededRandom, ufrag: string, password: string): Buffer {
  switch (rng.int(7)) {
    case 0:
      return rng.bytes(rng.int(1500));
    case 1:
      return Buffer.concat([Buffer.from([rng.int(4)]), rng.bytes(rng.int(200))]);
    case 2:
      return stunShaped(rng);
    case 3:
    case 4:
      return mutatedCheck(rng, ufrag, password);
    case 5:
      // DTLS or RTP/RTCP looking, from an address no check bound.
      return Buffer.concat([
        Buffer.from([rng.chance(0.5) ? rng.range(20, 63) : rng.range(128, 191)]),
        rng.bytes(rng.int(1200)),
      ]);
    default: {
      // A success or error response with a transaction id nobody waits for.
      const response = new Message(methods.BINDING, rng.chance(0.5) ? classes.RESPONSE : classes.ERROR);
      return response.bytes;
    }
  }
}

/** One fuzz TCP stream: what a client writes before it closes its side. */
function tcpStream(rng: SeededRandom, ufrag: string, password: string): Buffer {
  switch (rng.int(6)) {
    case 0:
      return rng.bytes(rng.int(3000));
    case 1:
      return frame(mutatedCheck(rng, ufrag, password));
    case 2:
      return frame(stunShaped(rng));
    case 3: {
      // Several frames, the first a near-valid check.
      const frames = [frame(mutatedCheck(rng, ufrag, password))];
      for (let i = rng.int(4); i > 0; i--) frames.push(frame(rng.bytes(rng.int(300))));
      return Buffer.concat(frames);
    }
    case 4: {
      // A length prefix promising more than will come (or more than allowed).
      const length = Buffer.alloc(2);
      length.writeUInt16BE(rng.int(0x10000));
      return Buffer.concat([length, rng.bytes(rng.int(100))]);
    }
    default: {
      // A valid check split at a random point, cut short.
      const whole = frame(check(ufrag, password).bytes);
      return whole.subarray(0, rng.int(whole.length - 1));
    }
  }
}

function heapMb(): number {
  return Math.round((process.memoryUsage().heapUsed / 1048576) * 10) / 10;
}

/** The datagrams or streams the port dropped between two readings of its stats, by reason and in all. */
function droppedBetween(
  before: SharedIcePortStats,
  after: SharedIcePortStats,
): { dropped: Record<string, number>; droppedTotal: number } {
  const dropped: Record<string, number> = {};
  let droppedTotal = 0;
  for (const [reason, count] of Object.entries(after.dropped)) {
    const delta = count - (before.dropped[reason as keyof typeof before.dropped] ?? 0);
    if (delta > 0) dropped[reason] = delta;
    droppedTotal += delta;
  }
  return { dropped, droppedTotal };
}

describe("SharedIcePort fuzz (seeded) while werift viewers play", function () {
  this.timeout(300_000);
  let rig: SharedPortRig | undefined;
  let viewers: WeriftViewer[] = [];
  let ufrag = "";
  let password = "";

  before(async () => {
    rig = await SharedPortRig.start({ bindAddress: "127.0.0.1", tcp: true, tcpLimits: { idleMs: 300 } });
    viewers = await Promise.all([rig.viewer(), rig.viewer()]);
    await Promise.all(viewers.map((v) => v.connected));
    await Promise.all(viewers.map((v) => receivedFrames(v, 10)));
    ({ ufrag, password } = credentials(viewers[0]?.pc.remoteDescription?.sdp ?? ""));
  });

  after(async () => {
    await rig?.close();
    rig = undefined;
  });

  async function keepsPlaying(framesBefore: number[]): Promise<void> {
    await Promise.all(viewers.map((v, i) => receivedFrames(v, (framesBefore[i] ?? 0) + 25)));
    for (const viewer of viewers) {
      const decoded = await decodeReceived(viewer);
      assert.deepEqual(decoded.decodeErrors, []);
    }
    const stats = rig?.port.stats();
    assert.equal(stats?.viewers, 2);
    assert.ok((stats?.routes ?? 0) <= 2 * 32, JSON.stringify(stats));
  }

  it(`${CASES} random and mutated datagrams: dropped and counted, none answered, the viewers keep playing`, async () => {
    assert.ok(!(process.env.CI === "true" && ONLY !== undefined), "FUZZ_CASE is for replaying locally");
    const port = rig?.port;
    assert.ok(port !== undefined);
    const before = port.stats();
    const framesBefore = viewers.map(frameCount);
    const heapBefore = heapMb();
    const sockets: UdpSocket[] = [];
    let answered = 0;
    let answeredBytes = 0;
    for (let i = 0; i < 4; i++) {
      const socket = createSocket("udp4");
      socket.on("message", (data: Buffer, _info: RemoteInfo) => {
        answered++;
        answeredBytes += data.length;
      });
      await new Promise<void>((resolve) => socket.bind(0, `127.0.0.${2 + i}`, resolve));
      sockets.push(socket);
    }
    const random = new SeededRandom(UDP_SEED);
    let sent = 0;
    await noStrayErrors(async () => {
      for (let i = 0; i < CASES; i++) {
        if (ONLY !== undefined && i !== ONLY) continue;
        const data = datagram(random.fork(i), ufrag, password);
        (sockets[i % sockets.length] as UdpSocket).send(data, port.port, "127.0.0.1");
        sent++;
        // Paced so the kernel's receive buffer never overflows: every datagram is judged.
        if (i % 50 === 49) {
          await waitFor(
            () => port.stats().datagramsReceived - before.datagramsReceived >= sent,
            10_000,
            "the port to read the batch",
          );
        }
      }
      await waitFor(
        () => port.stats().datagramsReceived - before.datagramsReceived >= sent,
        10_000,
        "the port to read everything",
      );
      await keepsPlaying(framesBefore);
    });
    for (const socket of sockets) socket.close();
    const after = port.stats();
    const { dropped, droppedTotal } = droppedBetween(before, after);
    console.log(
      `      UDP fuzz: sent ${sent}, read ${after.datagramsReceived - before.datagramsReceived} (viewers' own traffic included), dropped ${droppedTotal} ${JSON.stringify(dropped)}, answered ${answered} (${answeredBytes} bytes), routes ${after.routes}, heap ${heapBefore} → ${heapMb()} MB`,
    );
    assert.equal(answered, 0, "an unauthenticated datagram was answered");
    assert.equal(droppedTotal, sent, "every fuzz datagram dropped");
  });

  it(`${CASES} random and mutated ICE-TCP streams: closed and counted, none answered, the viewers keep playing`, async () => {
    const port = rig?.port;
    assert.ok(port !== undefined);
    const before = port.stats();
    const framesBefore = viewers.map(frameCount);
    const heapBefore = heapMb();
    const random = new SeededRandom(TCP_SEED);
    let answeredBytes = 0;
    let opened = 0;
    const one = (i: number): Promise<void> =>
      new Promise((resolve) => {
        const data = tcpStream(random.fork(i), ufrag, password);
        // Eight source addresses, four connections each at most: under the per-address cap.
        const socket = connect({
          port: port.port,
          host: "127.0.0.1",
          localAddress: `127.0.1.${1 + (i % 8)}`,
        });
        opened++;
        socket.on("data", (chunk: Buffer) => {
          answeredBytes += chunk.length;
        });
        socket.on("error", () => {});
        socket.on("close", () => resolve());
        socket.on("connect", () => {
          socket.end(data);
        });
      });
    await noStrayErrors(async () => {
      const queue = [...Array(CASES).keys()].filter((i) => ONLY === undefined || i === ONLY);
      const workers = Array.from({ length: 32 }, async () => {
        for (let i = queue.shift(); i !== undefined; i = queue.shift()) await one(i);
      });
      await Promise.all(workers);
      await waitFor(() => port.stats().tcpPending === 0, 10_000, "no unauthenticated connection left");
      await keepsPlaying(framesBefore);
    });
    const after = port.stats();
    const { dropped, droppedTotal } = droppedBetween(before, after);
    console.log(
      `      TCP fuzz: streams ${opened}, accepted ${after.tcpAccepted - before.tcpAccepted}, adopted ${after.tcpAdopted - before.tcpAdopted}, dropped ${JSON.stringify(dropped)}, answered ${answeredBytes} bytes, open ${after.tcpOpen}, heap ${heapBefore} → ${heapMb()} MB`,
    );
    assert.equal(answeredBytes, 0, "an unauthenticated TCP stream was answered");
    assert.equal(after.tcpAdopted, before.tcpAdopted, "no fuzz stream was handed to a viewer");
    assert.equal(after.tcpOpen, 0);
    assert.equal(droppedTotal, opened, "every fuzz stream dropped and counted once");
  });

  it("routing cost per datagram (printed, not asserted)", async () => {
    const port = rig?.port;
    assert.ok(port !== undefined);
    // The private router, called directly: no socket, no werift behind the drop paths.
    const route = (port as unknown as { route(data: Buffer, rinfo: RemoteInfo): unknown }).route.bind(port);
    const rinfo: RemoteInfo = { address: "127.0.0.9", port: 40000, family: "IPv4", size: 0 };
    const rtp = Buffer.concat([Buffer.from([0x80, 96]), Buffer.alloc(1000)]);
    const forged = check(ufrag, "wrong-password").bytes;
    const unknownUfrag = check("0123456789abcdef01234567", password).bytes;
    const time = (data: Buffer, n: number): number => {
      const start = process.hrtime.bigint();
      for (let i = 0; i < n; i++) route(data, rinfo);
      return Number(process.hrtime.bigint() - start) / n / 1000;
    };
    // The bound-address lookup alone: a route to a sink that does nothing.
    const routes = (port as unknown as { routes: Map<string, { protocol: object }> }).routes;
    const sink = { datagramReceived: () => {} };
    routes.set("127.0.0.9:40000", { ...(routes.values().next().value as object), protocol: sink } as never);
    try {
      const bound = time(rtp, 200_000);
      routes.delete("127.0.0.9:40000");
      const dropUnbound = time(rtp, 200_000);
      const dropUnknownUfrag = time(unknownUfrag, 50_000);
      const dropForged = time(forged, 50_000);
      const dropResponse = time(new Message(methods.BINDING, classes.RESPONSE).bytes, 200_000);
      console.log(
        `      routing cost: bound RTP ${bound.toFixed(3)} µs, unbound RTP dropped ${dropUnbound.toFixed(3)} µs, check for an unknown ufrag ${dropUnknownUfrag.toFixed(3)} µs, forged check (HMAC) ${dropForged.toFixed(3)} µs, response nobody waits for ${dropResponse.toFixed(3)} µs per datagram`,
      );
    } finally {
      routes.delete("127.0.0.9:40000");
    }
  });
});
