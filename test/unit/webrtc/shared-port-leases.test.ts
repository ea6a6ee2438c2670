import assert from "node:assert/strict";
import {
  PortTakenError,
  type SharedIcePort,
  type SharedIcePortOptions,
} from "../../../src/webrtc/shared-port";
import { SharedPortLeases } from "../../../src/webrtc/shared-port-leases";

/**
 * An opener that records what happens; the real SharedIcePort has its own tests (and the Node-RED tests
 * open it for real): these check the counting only.
 */
function recorder(fail?: (opts: SharedIcePortOptions) => Error | undefined) {
  const events: string[] = [];
  let open = 0;
  const opener = async (opts: SharedIcePortOptions): Promise<SharedIcePort> => {
    events.push(`open ${opts.port}`);
    const error = fail?.(opts);
    if (error) throw error;
    open++;
    return {
      port: opts.port,
      tcp: opts.tcp === true,
      attach: () => undefined,
      close: async () => {
        await new Promise((resolve) => setImmediate(resolve));
        open--;
        events.push(`closed ${opts.port}`);
      },
    } as unknown as SharedIcePort;
  };
  return { events, opener, open: () => open };
}

describe("SharedPortLeases", () => {
  it("opens once for every user, and closes after the last one releases", async () => {
    const rec = recorder();
    const leases = new SharedPortLeases(rec.opener);
    const a = leases.acquire({ port: 5000 });
    const b = leases.acquire({ port: 5000 });
    const [first, second] = await Promise.all([a.ready, b.ready]);
    assert.equal(first.port, second.port);
    assert.equal(rec.open(), 1);
    await a.release();
    await a.release(); // a second release of one lease counts once
    assert.equal(rec.open(), 1);
    await b.release();
    assert.equal(rec.open(), 0);
    assert.equal(leases.size, 0);
    assert.deepEqual(rec.events, ["open 5000", "closed 5000"]);
  });

  it("reopens only once the old socket is closed (a full redeploy)", async () => {
    const rec = recorder();
    const leases = new SharedPortLeases(rec.opener);
    const old = leases.acquire({ port: 5000 });
    await old.ready;
    const closing = old.release();
    const fresh = leases.acquire({ port: 5000 });
    assert.ok((await fresh.ready).port);
    await closing;
    assert.deepEqual(rec.events, ["open 5000", "closed 5000", "open 5000"]);
    await fresh.release();
    assert.equal(leases.size, 0);
  });

  it("a port in use: every user learns it is taken; the next deploy tries again", async () => {
    let taken = true;
    const rec = recorder((opts) => (taken ? new PortTakenError(opts.port, "udp") : undefined));
    const leases = new SharedPortLeases(rec.opener);
    const a = leases.acquire({ port: 5000 });
    const b = leases.acquire({ port: 5000 });
    for (const outcome of await Promise.all([a.ready, b.ready])) {
      assert.equal(outcome.port, undefined);
      assert.equal(outcome.error instanceof PortTakenError, true);
      assert.equal(outcome.port === undefined && outcome.taken, true);
    }
    await Promise.all([a.release(), b.release()]);
    taken = false;
    const c = leases.acquire({ port: 5000 });
    assert.ok((await c.ready).port);
    await c.release();
    assert.deepEqual(rec.events, ["open 5000", "open 5000", "closed 5000"]);
  });

  it("any other failure is not 'taken'", async () => {
    const leases = new SharedPortLeases(recorder(() => new Error("EACCES")).opener);
    const lease = leases.acquire({ port: 80 });
    const outcome = await lease.ready;
    assert.equal(outcome.port === undefined && !outcome.taken && outcome.error.message, "EACCES");
    await lease.release();
  });
});
