import assert from "node:assert/strict";
import { setTimeout as sleep } from "node:timers/promises";
import { DemoCamera, type DemoCameraOptions } from "../../src/demo/demo-camera";
import type { DemoSessionStats } from "../../src/demo/demo-session";
import type { SourceOptions } from "../../src/rtsp/source";
import { SourceHarness } from "../helpers/source-harness";
import { waitFor } from "../helpers/wait";

const CNAME = "node-red-rtsp-webrtc";
const NTP_UNIX_OFFSET_S = 2_208_988_800;

/** The middle 32 bits of the NTP timestamp of a wall-clock time: what LSR echoes (RFC 3550 6.4.1). */
function ntpMiddle(ms: number): number {
  const seconds = Math.floor(ms / 1000) + NTP_UNIX_OFFSET_S;
  const fraction = Math.floor(((ms % 1000) / 1000) * 65536);
  return (((seconds & 0xffff) << 16) | fraction) >>> 0;
}

describe("RtspSource sends what cameras and NVRs expect back (against DemoCamera)", function () {
  this.timeout(20_000);
  const cameras: DemoCamera[] = [];
  const harnesses: SourceHarness[] = [];

  afterEach(async () => {
    await Promise.all(harnesses.splice(0).map((harness) => harness.close()));
    await Promise.all(cameras.splice(0).map((camera) => camera.close()));
  });

  /** A camera and an RtspSource playing it (video only), both recorded. */
  async function play(
    cameraOptions: DemoCameraOptions,
    sourceOptions: Partial<SourceOptions>,
  ): Promise<{ camera: DemoCamera; harness: SourceHarness }> {
    const camera = new DemoCamera(cameraOptions);
    cameras.push(camera);
    const { url } = await camera.start();
    const harness = new SourceHarness({ url, media: "video", ...sourceOptions });
    harnesses.push(harness);
    harness.source.start();
    await harness.until(() => harness.units.length > 0, 5000, "the first frame");
    return { camera, harness };
  }

  function onlySession(camera: DemoCamera): DemoSessionStats {
    const all = camera.sessionStats();
    assert.equal(all.length, 1, `one session, not ${JSON.stringify(all)}`);
    return all[0]!;
  }

  /** Checks the last report against what the camera sent: loopback loses nothing. */
  function assertPlausibleReport(stats: DemoSessionStats): void {
    const report = stats.lastReport;
    assert.ok(report, "a receiver report");
    assert.equal(report.type, "RR");
    assert.equal(report.block.ssrc, stats.ssrc, "about the camera's SSRC");
    assert.equal(report.cname, CNAME);
    assert.equal(report.block.fractionLost, 0);
    assert.equal(report.block.cumulativeLost, 0);
    // The client had received up to a frame or so less than the camera had sent when the report came.
    const highest = report.block.extendedHighestSequence;
    assert.ok(highest >>> 16 <= 1, `at most one sequence cycle in a few seconds: ${highest}`);
    assert.ok(report.lastSequenceSent !== undefined);
    const behind = (report.lastSequenceSent - (highest & 0xffff) + 0x10000) % 0x10000;
    assert.ok(behind <= 60, `highest sequence ${highest & 0xffff}, camera at ${report.lastSequenceSent}`);
    assert.ok(report.block.jitter < 90_000, `jitter under a second: ${report.block.jitter}`);
    // LSR echoes the camera's last SR, DLSR says how long ago: together they give its send time.
    assert.notEqual(report.block.lastSenderReport, 0, "an SR was received and echoed");
    const delayMs = (report.block.delaySinceLastSenderReport / 65536) * 1000;
    assert.ok(delayMs < 6000, `DLSR ${delayMs} ms, the camera reports every 5 s`);
    const srSentAt = ntpMiddle(report.receivedAtMs - delayMs);
    const error = Math.abs(((srSentAt - report.block.lastSenderReport + 2 ** 31) >>> 0) - 2 ** 31);
    assert.ok(error < 0.2 * 65536, `LSR and DLSR point to the SR's time (off by ${error / 65536} s)`);
  }

  it("over UDP: NAT punches at both server ports, then RRs with CNAME at the RTCP port", async () => {
    const { camera, harness } = await play({}, { transport: "udp", receiverReportIntervalMs: 400 });
    await waitFor(() => onlySession(camera).receiverReports >= 3, 5000, "three receiver reports");
    const stats = onlySession(camera);
    assert.equal(stats.transport, "udp");
    assert.equal(stats.state, "playing");
    assertPlausibleReport(stats);
    assert.equal(stats.punchPackets, 1, "one NAT punch at the RTP port");
    assert.deepEqual(stats.beforePlay, { rtcpPackets: 1, punchPackets: 1 }, "the punches go out before PLAY");
    assert.equal(stats.invalidRtcpPackets, 0);
    assert.equal(
      stats.rtcpPackets - stats.receiverReports,
      1,
      "one RTCP packet without a report block: the punch at the RTCP port",
    );
    assert.equal(harness.source.transport, "udp");
  });

  it("over TCP: RRs with CNAME on the interleaved RTCP channel, and no punches", async () => {
    const { camera } = await play({}, { transport: "tcp", receiverReportIntervalMs: 400 });
    await waitFor(() => onlySession(camera).receiverReports >= 3, 5000, "three receiver reports");
    const stats = onlySession(camera);
    assert.equal(stats.transport, "tcp");
    assertPlausibleReport(stats);
    assert.equal(stats.rtcpPackets, stats.receiverReports, "every RTCP packet is a report");
    assert.equal(stats.punchPackets, 0);
  });

  it("keeps a UDP session that an NVR drops without RRs; a client without RRs is dropped", async () => {
    const strict = { requireReceiverReportsMs: 3000 };
    // A dead session must show within the run: media that stops for 1.5 s ends it.
    const [kept, control] = await Promise.all([
      play(strict, { transport: "udp", receiverReportIntervalMs: 1000, noMediaTimeoutMs: 1500 }),
      play(strict, { transport: "udp", receiverReportIntervalMs: 60_000, noMediaTimeoutMs: 1500 }),
    ]);
    const startedAt = Date.now();

    // The control proves the camera really drops: its session ends, and the source comes back in a new one.
    await control.harness.until(
      () => control.harness.units.some(({ stream }) => stream.session === 2),
      12_000,
      "the control's second session",
    );
    const sessions = control.camera.sessionStats();
    assert.deepEqual(
      sessions.map((session) => session.ended),
      [undefined, "no receiver reports"],
      "the new session live, the first one dropped",
    );
    const dropped = sessions[1]!;
    assert.equal(dropped.receiverReports, 0);
    assert.equal(dropped.rtcpPackets, 1, "the RTCP punch alone");
    assert.ok(
      control.harness.states.some(
        (event) => event.state === "retrying" && /media stopped/.test(event.reason ?? ""),
      ),
      JSON.stringify(control.harness.states),
    );

    await sleep(Math.max(0, 7500 - (Date.now() - startedAt)));
    const framesBefore = kept.harness.units.length;
    await sleep(1000);
    const framesInLastSecond = kept.harness.units.length - framesBefore;
    assert.ok(framesInLastSecond >= 15, `${framesInLastSecond} frames in the last second`);
    const stats = onlySession(kept.camera);
    assert.equal(stats.state, "playing");
    assert.equal(stats.ended, undefined);
    assert.ok(stats.receiverReports >= 7, `${stats.receiverReports} receiver reports in 8.5 s`);
    assertPlausibleReport(stats);
    assert.deepEqual(
      kept.harness.states.map((event) => event.state),
      ["connecting", "playing"],
    );
    assert.ok(kept.harness.units.every(({ stream }) => stream.session === 1));
  });

  it("keeps a session alive with OPTIONS on a camera without GET_PARAMETER, and with GET_PARAMETER on one with it", async () => {
    // timeout=3 in the Session header: the client sends a keepalive every max(3 - 5, 1) = 1 s.
    const [optionsOnly, both] = await Promise.all([
      play({ supportGetParameter: false, sessionTimeoutSeconds: 3 }, { transport: "tcp" }),
      play({ sessionTimeoutSeconds: 3 }, { transport: "tcp" }),
    ]);
    // Five keepalives each: five seconds at least, longer than the 3 s timeout, however loaded the machine.
    await waitFor(
      () =>
        (onlySession(optionsOnly.camera).requests.OPTIONS ?? 0) >= 5 &&
        (onlySession(both.camera).requests.GET_PARAMETER ?? 0) >= 5,
      15_000,
      "five keepalives on each camera",
    );
    for (const { camera, harness } of [optionsOnly, both]) {
      assert.deepEqual(
        harness.states.map((event) => event.state),
        ["connecting", "playing"],
      );
      assert.ok(harness.units.every(({ stream }) => stream.session === 1));
      assert.equal(onlySession(camera).state, "playing");
    }
    const optionsStats = onlySession(optionsOnly.camera);
    assert.equal(optionsStats.requests.GET_PARAMETER, undefined);
    assert.ok((optionsStats.requests.OPTIONS ?? 0) >= 5, JSON.stringify(optionsStats.requests));
    assert.equal(optionsOnly.camera.requestCounts().GET_PARAMETER, undefined, "not even once");
    const bothStats = onlySession(both.camera);
    assert.equal(bothStats.requests.OPTIONS, undefined);
    assert.ok((bothStats.requests.GET_PARAMETER ?? 0) >= 5, JSON.stringify(bothStats.requests));
  });
});
