import "./loopback-namespace";
import { type ChildProcess, spawn } from "node:child_process";
import { createSocket, type Socket } from "node:dgram";
import { MediaStreamTrack, RTCPeerConnection, RTCRtpCodecParameters } from "werift";
import { JANUS_ADDRESS } from "./janus-interface";
import { requireTool } from "./tools";
import { loopbackCandidatesOnly } from "./werift-viewer";

// The smallest WHIP publisher, independent of src/: GStreamer encodes a test pattern to H.264 RTP on a
// loopback UDP port, a werift peer sends it on. It validates the Janus rig by itself (offer, POST,
// 201, ICE with Janus on 127.0.0.2), before any product code is put in front of it. A short GOP stands
// in for answering Janus's PLIs (a camera cannot be asked either).

export interface TestPublisherOptions {
  readonly endpointUrl: string;
  readonly token?: string;
  readonly width: number;
  readonly height: number;
}

export interface TestPublisher {
  /** The WHIP resource (absolute), from Location. */
  readonly resourceUrl: string;
  readonly connected: Promise<void>;
  /** DELETE of the resource, then everything closes. */
  close(): Promise<void>;
}

export class WhipPostError extends Error {
  constructor(
    readonly status: number,
    body: string,
  ) {
    super(`WHIP POST answered ${status}: ${body.slice(0, 200)}`);
    this.name = "WhipPostError";
  }
}

function gathered(pc: RTCPeerConnection): Promise<void> {
  if (pc.iceGatheringState === "complete") return Promise.resolve();
  return new Promise((resolve) => {
    const { unSubscribe } = pc.iceGatheringStateChange.subscribe((state) => {
      if (state !== "complete") return;
      unSubscribe();
      resolve();
    });
  });
}

function bindUdp(): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = createSocket("udp4");
    socket.once("error", reject);
    socket.bind(0, "127.0.0.1", () => resolve(socket));
  });
}

function startEncoder(port: number, width: number, height: number): ChildProcess {
  const pipeline = [
    ...[
      "videotestsrc",
      "is-live=true",
      "!",
      `video/x-raw,width=${width},height=${height},framerate=25/1`,
      "!",
    ],
    ...["x264enc", "tune=zerolatency", "speed-preset=ultrafast", "key-int-max=25", "bitrate=800", "!"],
    ...["video/x-h264,profile=constrained-baseline", "!"],
    ...["rtph264pay", "config-interval=-1", "pt=96", "mtu=1200", "!"],
    ...["udpsink", "host=127.0.0.1", `port=${port}`],
  ];
  return spawn(requireTool("gst-launch-1.0"), ["-q", ...pipeline], { stdio: ["ignore", "ignore", "ignore"] });
}

/** Publishes a test pattern of width × height to a WHIP endpoint. Rejects with WhipPostError on a non-201. */
export async function publishTestPattern(opts: TestPublisherOptions): Promise<TestPublisher> {
  const socket = await bindUdp();
  const encoder = startEncoder(socket.address().port, opts.width, opts.height);
  const pc = new RTCPeerConnection({
    iceServers: [],
    iceAdditionalHostAddresses: [JANUS_ADDRESS],
    iceInterfaceAddresses: { udp4: JANUS_ADDRESS },
    iceUseIpv6: false,
    iceUseTcp: false,
    bundlePolicy: "max-bundle",
    codecs: {
      video: [
        new RTCRtpCodecParameters({
          mimeType: "video/H264",
          clockRate: 90000,
          payloadType: 96,
          rtcpFeedback: [
            { type: "nack" },
            { type: "nack", parameter: "pli" },
            { type: "ccm", parameter: "fir" },
          ],
          parameters: "level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=42e01f",
        }),
      ],
      audio: [],
    },
  });
  const track = new MediaStreamTrack({ kind: "video" });
  pc.addTransceiver(track, { direction: "sendonly" });
  socket.on("message", (packet) => track.writeRtp(packet));
  const connected = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("publisher not connected within 15 s")), 15_000);
    pc.connectionStateChange.subscribe((state) => {
      if (state === "connected") resolve();
      else if (state === "failed" || state === "closed") reject(new Error(`publisher ${state}`));
      else return;
      clearTimeout(timer);
    });
  });
  connected.catch(() => {});
  let resourceUrl: string | undefined;
  const auth: Record<string, string> =
    opts.token !== undefined ? { Authorization: `Bearer ${opts.token}` } : {};
  const close = async (): Promise<void> => {
    if (resourceUrl !== undefined)
      await fetch(resourceUrl, { method: "DELETE", headers: auth }).catch(() => undefined);
    encoder.kill("SIGKILL");
    socket.close();
    await pc.close();
  };
  try {
    await pc.setLocalDescription(await pc.createOffer());
    for (const transport of pc.iceTransports) transport.connection.stunServer = undefined;
    await gathered(pc);
    const offer = pc.localDescription?.sdp;
    if (offer === undefined) throw new Error("werift made no offer");
    const res = await fetch(opts.endpointUrl, {
      method: "POST",
      headers: { "Content-Type": "application/sdp", ...auth },
      body: offer,
    });
    const body = await res.text();
    if (res.status !== 201) throw new WhipPostError(res.status, body);
    const location = res.headers.get("location");
    if (location === null) throw new Error("201 without Location");
    resourceUrl = new URL(location, opts.endpointUrl).toString();
    await pc.setRemoteDescription({ type: "answer", sdp: loopbackCandidatesOnly(body) });
  } catch (error) {
    await close();
    throw error;
  }
  return { resourceUrl, connected, close };
}
