import { type RTCRtpSender, type RtcpPacket, RtcpPayloadSpecificFeedback } from "werift";

/** RFC 5104 §4.3.1: payload-specific feedback with FMT 4 is a Full Intra Request. */
const FIR_FMT = 4;

function isFullIntraRequest(packet: RtcpPacket): boolean {
  return packet instanceof RtcpPayloadSpecificFeedback && packet.feedback.count === FIR_FMT;
}

/** Calls `fn` for each keyframe request (PLI or FIR) the peer sends about `sender`'s media. */
export function onKeyframeRequest(sender: RTCRtpSender, fn: () => void): void {
  sender.onPictureLossIndication.subscribe(fn);
  sender.onRtcp.subscribe((packet) => {
    if (isFullIntraRequest(packet)) fn();
  });
}
