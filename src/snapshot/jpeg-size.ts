/** Start-of-frame markers (ITU T.81 B.1.1.3): C0..CF but DHT (C4), JPG (C8) and DAC (CC). */
function isStartOfFrame(marker: number): boolean {
  return marker >= 0xc0 && marker <= 0xcf && marker !== 0xc4 && marker !== 0xc8 && marker !== 0xcc;
}

/** Width and height from a JPEG's frame header; undefined when it has none before the scan. */
export function jpegSize(jpeg: Buffer): { width: number; height: number } | undefined {
  if (jpeg.length < 4 || jpeg[0] !== 0xff || jpeg[1] !== 0xd8) return undefined;
  let offset = 2;
  while (offset + 4 <= jpeg.length) {
    if (jpeg[offset] !== 0xff) return undefined;
    const marker = jpeg[offset + 1]!;
    if (marker === 0xff) {
      offset += 1;
      continue;
    }
    const length = jpeg.readUInt16BE(offset + 2);
    if (isStartOfFrame(marker)) {
      if (offset + 9 > jpeg.length) return undefined;
      return { height: jpeg.readUInt16BE(offset + 5), width: jpeg.readUInt16BE(offset + 7) };
    }
    if (marker === 0xda) return undefined;
    offset += 2 + length;
  }
  return undefined;
}

/** The last whole JPEG of a run of them (an mjpeg stream); undefined when there is none. */
export function lastJpeg(stream: Buffer): Buffer | undefined {
  const end = stream.lastIndexOf(Buffer.from([0xff, 0xd9]));
  if (end < 0) return undefined;
  // FF D8 FF opens an image; in entropy-coded data every FF is followed by 00 or a restart marker.
  const start = stream.lastIndexOf(Buffer.from([0xff, 0xd8, 0xff]), end);
  return start < 0 ? undefined : stream.subarray(start, end + 2);
}
