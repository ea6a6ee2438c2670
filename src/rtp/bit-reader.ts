/** Thrown by BitReader on truncated or corrupt input; parsers catch it and return undefined. */
export class BitstreamError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "BitstreamError";
  }
}

/**
 * Removes emulation prevention bytes (the 0x03 in 00 00 03) so that the bits of a NAL unit
 * can be read as the RBSP the spec describes.
 */
export function unescapeRbsp(nal: Buffer): Buffer {
  const out = Buffer.allocUnsafe(nal.length);
  let length = 0;
  let zeros = 0;
  for (const byte of nal) {
    if (zeros >= 2 && byte === 3) {
      zeros = 0;
      continue;
    }
    out[length++] = byte;
    zeros = byte === 0 ? zeros + 1 : 0;
  }
  return out.subarray(0, length);
}

/** MSB-first bit reader over an RBSP, with the Exp-Golomb codes of H.264/H.265. */
export class BitReader {
  private bitPos = 0;

  constructor(private readonly data: Buffer) {}

  get bitsLeft(): number {
    return this.data.length * 8 - this.bitPos;
  }

  readBit(): number {
    const byte = this.data[this.bitPos >> 3];
    if (byte === undefined) throw new BitstreamError("bitstream ended early");
    const bit = (byte >> (7 - (this.bitPos & 7))) & 1;
    this.bitPos++;
    return bit;
  }

  /** Up to 32 bits, as an unsigned number. */
  readBits(count: number): number {
    let value = 0;
    for (let i = 0; i < count; i++) value = value * 2 + this.readBit();
    return value;
  }

  readFlag(): boolean {
    return this.readBit() === 1;
  }

  skipBits(count: number): void {
    if (count > this.bitsLeft) throw new BitstreamError("bitstream ended early");
    this.bitPos += count;
  }

  /** ue(v). Codes longer than 32 bits do not occur in valid streams: treated as corrupt. */
  readUE(): number {
    let leadingZeros = 0;
    while (this.readBit() === 0) {
      leadingZeros++;
      if (leadingZeros > 31) throw new BitstreamError("Exp-Golomb code longer than 32 bits");
    }
    return 2 ** leadingZeros - 1 + this.readBits(leadingZeros);
  }

  /** se(v). */
  readSE(): number {
    const code = this.readUE();
    if (code % 2 === 1) return (code + 1) / 2;
    return code === 0 ? 0 : -(code / 2);
  }
}
