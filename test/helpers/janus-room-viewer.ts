import "./loopback-namespace";
import {
  type MediaStreamTrack,
  RTCPeerConnection,
  RTCRtpCodecParameters,
  type RtpPacket,
  useOPUS,
  usePCMA,
  usePCMU,
} from "werift";
import {
  attach,
  createSession,
  KEEPALIVE_INTERVAL_MS,
  nextOffer,
  pluginMessage,
  pluginRequest,
  post,
} from "../bench/janus-api";
import { type DecodeResult, decodeVideo } from "./decode";
import { depacketizeH264 } from "./depacketize";
import { JANUS_ADDRESS } from "./janus-interface";
import { CHROMIUM_H264_PROFILES, loopbackCandidatesOnly } from "./werift-viewer";

// A viewer through Janus's VideoRoom, over its HTTP API: it joins a room as a subscriber of the room's
// publisher, Janus offers (VideoRoom subscriptions are server-sent offers), a werift peer answers, and
// every RTP packet it receives is kept to be depacketized and decoded. Its ICE is on 127.0.0.2, Janus's
// own address (libnice cannot send from there to 127.0.0.1).

const PUBLISHER_TIMEOUT_MS = 20_000;

interface Participant {
  readonly id: number;
  readonly display?: string;
  readonly publisher?: boolean;
}

export interface RoomViewer {
  /** Video RTP packets, wire format, in arrival order. */
  readonly packets: Buffer[];
  readonly audioPackets: Buffer[];
  readonly connected: Promise<void>;
  /** Decodes what arrived so far (from the first keyframe on: Janus forwards from a keyframe). */
  decode(): Promise<DecodeResult>;
  /**
   * Decodes every half second until at least `frames` pictures come out (a subscriber joins mid-GOP:
   * nothing decodes before the publisher's next keyframe); the last result.
   * @throws Error after `timeoutMs`, with what the decoder said
   */
  decodedFrames(frames: number, timeoutMs: number): Promise<DecodeResult>;
  /** Forgets the packets so far. */
  clear(): void;
  close(): Promise<void>;
}

/** The room's publishers (listparticipants), or [] while it has none. */
export async function roomPublishers(apiBase: string, room: number): Promise<Participant[]> {
  const session = await createSession(apiBase);
  try {
    const handle = await attach(apiBase, session, "janus.plugin.videoroom");
    const data = await pluginRequest(apiBase, session, handle, { request: "listparticipants", room });
    const list = (data.participants ?? []) as Participant[];
    return list.filter((p) => p.publisher === true);
  } finally {
    await post(`${apiBase}/${session}`, { janus: "destroy" }).catch(() => {});
  }
}

/** Until the room has a publisher; its id. */
export async function waitForPublisher(
  apiBase: string,
  room: number,
  timeoutMs = PUBLISHER_TIMEOUT_MS,
): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const [first] = await roomPublishers(apiBase, room).catch(() => []);
    if (first !== undefined) return first.id;
    if (Date.now() > deadline) throw new Error(`room ${room} has no publisher after ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

function h264Codecs(): RTCRtpCodecParameters[] {
  const profiles = [...CHROMIUM_H264_PROFILES, "640c1f", "640032"];
  return profiles.map(
    (profile, i) =>
      new RTCRtpCodecParameters({
        mimeType: "video/H264",
        clockRate: 90000,
        payloadType: 102 + i,
        rtcpFeedback: [
          { type: "nack" },
          { type: "nack", parameter: "pli" },
          { type: "ccm", parameter: "fir" },
        ],
        parameters: `level-asymmetry-allowed=1;packetization-mode=1;profile-level-id=${profile}`,
      }),
  );
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

/** Subscribes to the room's publisher (waiting for one) and connects. */
export async function subscribeRoom(
  apiBase: string,
  room: number,
  opts: { connectTimeoutMs?: number } = {},
): Promise<RoomViewer> {
  const feed = await waitForPublisher(apiBase, room);
  const session = await createSession(apiBase);
  const keepalive = setInterval(() => {
    post(`${apiBase}/${session}`, { janus: "keepalive" }).catch(() => {});
  }, KEEPALIVE_INTERVAL_MS);
  keepalive.unref();
  const pc = new RTCPeerConnection({
    iceServers: [],
    iceAdditionalHostAddresses: [JANUS_ADDRESS],
    iceInterfaceAddresses: { udp4: JANUS_ADDRESS },
    iceUseIpv6: false,
    iceUseTcp: false,
    bundlePolicy: "max-bundle",
    codecs: { video: h264Codecs(), audio: [useOPUS({ payloadType: 111 }), usePCMU(), usePCMA()] },
  });
  const packets: Buffer[] = [];
  const audioPackets: Buffer[] = [];
  pc.onTrack.subscribe((track: MediaStreamTrack) => {
    track.onReceiveRtp.subscribe((rtp: RtpPacket) => {
      (track.kind === "video" ? packets : audioPackets).push(rtp.serialize());
    });
  });
  const timeoutMs = opts.connectTimeoutMs ?? 15_000;
  const connected = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`not connected to Janus within ${timeoutMs} ms`)),
      timeoutMs,
    );
    pc.connectionStateChange.subscribe((state) => {
      if (state === "connected") resolve();
      else if (state === "failed" || state === "closed") reject(new Error(`peer connection ${state}`));
      else return;
      clearTimeout(timer);
    });
  });
  connected.catch(() => {});
  const close = async (): Promise<void> => {
    clearInterval(keepalive);
    await pc.close();
    await post(`${apiBase}/${session}`, { janus: "destroy" }).catch(() => {});
  };
  try {
    const handle = await attach(apiBase, session, "janus.plugin.videoroom");
    await pluginMessage(apiBase, session, handle, {
      request: "join",
      ptype: "subscriber",
      room,
      streams: [{ feed }],
    });
    const offer = await nextOffer(apiBase, session, 15_000);
    await pc.setRemoteDescription({ type: "offer", sdp: loopbackCandidatesOnly(offer) });
    for (const transport of pc.iceTransports) transport.connection.stunServer = undefined;
    await pc.setLocalDescription(await pc.createAnswer());
    await gathered(pc);
    const answer = pc.localDescription?.sdp;
    if (answer === undefined) throw new Error("werift made no answer");
    await pluginMessage(
      apiBase,
      session,
      handle,
      { request: "start" },
      { type: "answer", sdp: answer, trickle: false },
    );
  } catch (error) {
    await close();
    throw error;
  }
  const decode = (): Promise<DecodeResult> => decodeVideo(depacketizeH264(packets), "h264");
  return {
    packets,
    audioPackets,
    connected,
    decode,
    async decodedFrames(frames, timeoutMs) {
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const result = await decode();
        if (result.frames >= frames) return result;
        if (Date.now() > deadline)
          throw new Error(
            `${result.frames} of ${frames} frames decoded from ${packets.length} packets through Janus in ${timeoutMs} ms: ${result.decodeErrors.slice(0, 3).join("; ")}`,
          );
        await new Promise((resolve) => setTimeout(resolve, 500));
      }
    },
    clear: () => {
      packets.length = 0;
      audioPackets.length = 0;
    },
    close,
  };
}
