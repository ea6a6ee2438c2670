/**
 * An RTP timestamp's ticks since the first one seen, carried across the 32-bit wrap (every 13 h at
 * 90 kHz, sooner from a random start). A step backwards is taken as such, not as a wrap, when it
 * is under half the range: RFC 3550 serial-number arithmetic.
 */
export class RtpClock {
  private first: number | undefined;
  private lastRaw = 0;
  private lastTicks = 0;

  constructor(readonly clockRate: number) {}

  /** Ticks since the first timestamp. */
  ticks(timestamp: number): number {
    if (this.first === undefined) {
      this.first = timestamp;
      this.lastRaw = timestamp;
      return 0;
    }
    this.lastTicks += (timestamp - this.lastRaw) | 0;
    this.lastRaw = timestamp;
    return this.lastTicks;
  }

  /** Seconds since the first timestamp. */
  seconds(timestamp: number): number {
    return this.ticks(timestamp) / this.clockRate;
  }
}
