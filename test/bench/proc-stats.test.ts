import assert from "node:assert/strict";
import {
  clockTicksPerSecond,
  parseStatTimes,
  parseUdpDrops,
  parseVmRssBytes,
  processUsage,
} from "./proc-stats";

describe("bench /proc readings", () => {
  it("utime and stime of a /proc/PID/stat line, whatever the command name holds", () => {
    const tail = "S 1 1 1 0 -1 4194560 1000 0 0 0 1234 567 0 0 20 0 12 0 100 1000000 500";
    assert.deepEqual(parseStatTimes(`42 (janus) ${tail}`), { utimeTicks: 1234, stimeTicks: 567 });
    assert.deepEqual(parseStatTimes(`42 (a) (b c) ${tail}`), { utimeTicks: 1234, stimeTicks: 567 });
    assert.throws(() => parseStatTimes("garbage"), /not a \/proc\/PID\/stat line/);
  });

  it("VmRSS in bytes", () => {
    assert.equal(
      parseVmRssBytes("Name:\tjanus\nVmPeak:\t  900 kB\nVmRSS:\t   65536 kB\nThreads:\t12\n"),
      65536 * 1024,
    );
    assert.throws(() => parseVmRssBytes("Name:\tx\n"), /no VmRSS/);
  });

  it("drops of the sockets on 127.0.0.0/8 at the given ports, others left out", () => {
    const udp = [
      "   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops",
      "  100: 0100007F:C350 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 1 2 0000000000000000 17",
      "  101: 0100007F:C351 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 2 2 0000000000000000 0",
      "  102: 0200007F:C352 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 3 2 0000000000000000 99",
      "  103: 0100007F:1FFD 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 4 2 0000000000000000 5",
      "  104: 0100000A:C351 00000000:0000 07 00000000:00000000 00:00000000 00000000     0        0 5 2 0000000000000000 7",
      "",
    ].join("\n");
    assert.deepEqual(
      [...parseUdpDrops(udp, new Set([50000, 50001, 50002]))],
      [
        [50000, 17],
        [50001, 0],
        [50002, 99],
      ],
    );
  });

  it("this process's CPU and RSS from /proc", () => {
    assert.ok(clockTicksPerSecond() > 0);
    const usage = processUsage(process.pid);
    assert.ok(usage.userUs + usage.systemUs > 0);
    assert.ok(usage.rssBytes > 1024 * 1024);
  });
});
