export interface RtpHeader {
  readonly marker: boolean;
  readonly payloadType: number;
  readonly sequenceNumber: number;
  readonly timestamp: number;
  readonly ssrc: number;
  /** Where the payload starts: after the fixed header, the CSRCs and the header extension. */
  readonly payloadOffset: number;
  /** Payload bytes, padding removed. */
  readonly payloadLength: number;
}

const FIXED_HEADER_LENGTH = 12;

/** Parses an RTP header (RFC 3550 §5.1); undefined when the packet is not well-formed RTP version 2. */
export function parseRtpHeader(packet: Buffer): RtpHeader | undefined {
  if (packet.length < FIXED_HEADER_LENGTH) return undefined;
  const first = packet.readUInt8(0);
  if (first >> 6 !== 2) return undefined;
  const hasPadding = (first & 0x20) !== 0;
  const hasExtension = (first & 0x10) !== 0;
  const csrcCount = first & 0x0f;
  const second = packet.readUInt8(1);

  let payloadOffset = FIXED_HEADER_LENGTH + csrcCount * 4;
  if (hasExtension) {
    if (payloadOffset + 4 > packet.length) return undefined;
    payloadOffset += 4 + packet.readUInt16BE(payloadOffset + 2) * 4;
  }
  if (payloadOffset > packet.length) return undefined;

  let payloadLength = packet.length - payloadOffset;
  if (hasPadding) {
    const paddingLength = packet.readUInt8(packet.length - 1);
    if (paddingLength === 0 || paddingLength > payloadLength) return undefined;
    payloadLength -= paddingLength;
  }

  return {
    marker: (second & 0x80) !== 0,
    payloadType: second & 0x7f,
    sequenceNumber: packet.readUInt16BE(2),
    timestamp: packet.readUInt32BE(4),
    ssrc: packet.readUInt32BE(8),
    payloadOffset,
    payloadLength,
  };
}

/** The payload of a parsed packet, as a view on the same bytes. */
export function rtpPayload(packet: Buffer, h: RtpHeader): Buffer {
  return packet.subarray(h.payloadOffset, h.payloadOffset + h.payloadLength);
}
