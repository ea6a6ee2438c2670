import type { ClipOutput } from "../mp4/clip-writer";

/**
 * A clip's output that keeps the first write error instead of passing it on: the recorder ends the
 * clip on it (a full disk must not throw through the flow), and knows how much reached the file.
 */
export class GuardedOutput implements ClipOutput {
  failure: Error | undefined;
  /** Bytes and writes that reached the output. */
  written = 0;
  writes = 0;

  constructor(
    private readonly inner: ClipOutput,
    private readonly onFailure: (error: Error) => void,
  ) {}

  async write(chunk: Uint8Array): Promise<void> {
    if (this.failure) return;
    try {
      await this.inner.write(chunk);
      this.written += chunk.byteLength;
      this.writes++;
    } catch (err) {
      this.fail(err as Error);
    }
  }

  async close(): Promise<void> {
    try {
      await this.inner.close();
    } catch (err) {
      this.fail(err as Error);
    }
  }

  private fail(error: Error): void {
    if (this.failure) return;
    this.failure = error;
    this.onFailure(error);
  }
}
