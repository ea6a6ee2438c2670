import "./loopback-namespace";
import type { AccessUnit, MediaInfo, StreamInfo } from "../../src/rtp/stream-info";
import { WhipPublisher, type WhipPublisherOptions, type WhipStateEvent } from "../../src/whip/publisher";
import { SyntheticCamera } from "./synthetic-camera";
import { WhipEndpoint, type WhipEndpointOptions } from "./whip-endpoint";

// The rig of the WhipPublisher integration tests: a fresh endpoint per test, so that no test sees
// another's publishes, and a teardown that leaves no peer, socket or timer to keep mocha alive or to
// send into the next test.

/** The product's retries start at 1 s, jittered; the tests' must come within their waits, at known times. */
const FAST_RETRY = { delaysMs: [100], jitter: 0 };

/** Attaches `push` to a stream of frames; returns what detaches it. */
export type FrameSource = (push: (unit: AccessUnit, stream: StreamInfo) => void) => (() => void) | undefined;

export interface WhipPublisherRigOptions {
  /** Every test's endpoint. */
  readonly endpoint?: WhipEndpointOptions;
  /** Options for every publish, over FAST_RETRY; a function, as they may name what a before() hook started. */
  readonly defaults?: () => Partial<WhipPublisherOptions>;
}

export interface CameraOptions {
  readonly codec?: "H264" | "H265";
  /** The first session's media instead of the codec's video (e.g. audio only). */
  readonly media?: MediaInfo[];
}

export class WhipPublisherRig {
  /** The publisher's state events of the current test, in order. */
  states: WhipStateEvent[] = [];
  private currentEndpoint: WhipEndpoint | undefined;
  private readonly endpoints: WhipEndpoint[] = [];
  private readonly publishers: WhipPublisher[] = [];
  private readonly cameras: SyntheticCamera[] = [];

  constructor(private readonly opts: WhipPublisherRigOptions = {}) {}

  get endpoint(): WhipEndpoint {
    if (this.currentEndpoint === undefined) throw new Error("no WHIP endpoint: the rig is not open");
    return this.currentEndpoint;
  }

  /** The latest publisher. */
  get publisher(): WhipPublisher | undefined {
    return this.publishers.at(-1);
  }

  /** The latest synthetic camera. */
  get camera(): SyntheticCamera | undefined {
    return this.cameras.at(-1);
  }

  async open(): Promise<void> {
    this.states = [];
    this.currentEndpoint = await WhipEndpoint.start(this.opts.endpoint);
    this.endpoints.push(this.currentEndpoint);
  }

  /** For a test that needs an endpoint made otherwise: the current one stops first, so one serves at a time. */
  async replaceEndpoint(opts: WhipEndpointOptions): Promise<WhipEndpoint> {
    const old = this.currentEndpoint;
    this.currentEndpoint = undefined;
    if (old !== undefined) {
      await old.stop();
      // Stopped: teardown need not stop it again. Had stop() thrown, teardown would try once more.
      this.endpoints.splice(this.endpoints.indexOf(old), 1);
    }
    const endpoint = await WhipEndpoint.start(opts);
    this.endpoints.push(endpoint);
    this.currentEndpoint = endpoint;
    return endpoint;
  }

  /** Publishes a SyntheticCamera of 25 fps. */
  publish(opts: Partial<WhipPublisherOptions> = {}, camera: CameraOptions = {}): WhipPublisher {
    return this.publishFrom((push) => {
      const synthetic = new SyntheticCamera(camera.codec ?? "H264", push);
      this.cameras.push(synthetic);
      if (camera.media !== undefined) synthetic.describe(camera.media);
      synthetic.start();
      // The camera runs on after the publisher's close(), as a real one does; teardown stops it.
      return undefined;
    }, opts);
  }

  /** Publishes what `source` gives, detached on the publisher's close(), as the source may outlive the test. */
  publishFrom(source: FrameSource, opts: Partial<WhipPublisherOptions> = {}): WhipPublisher {
    const p = new WhipPublisher({
      endpoint: this.endpoint.url(),
      backoff: FAST_RETRY,
      ...this.opts.defaults?.(),
      ...opts,
    });
    this.publishers.push(p);
    p.on("state", (event) => this.states.push(event));
    const detach = source((unit, stream) => p.push(unit, stream));
    if (detach !== undefined) {
      const close = p.close.bind(p);
      p.close = async () => {
        detach();
        await close();
      };
    }
    p.start();
    return p;
  }

  /**
   * Stops every camera, publisher and endpoint it opened (close() of each is safe twice), every one
   * even when another throws, so that one failure cannot leave the rest running; then throws.
   */
  async close(): Promise<void> {
    const errors: unknown[] = [];
    const attempt = async (step: () => unknown): Promise<void> => {
      try {
        await step();
      } catch (error) {
        errors.push(error);
      }
    };
    for (const camera of this.cameras.splice(0)) await attempt(() => camera.stop());
    for (const publisher of this.publishers.splice(0)) await attempt(() => publisher.close());
    for (const endpoint of this.endpoints.splice(0)) await attempt(() => endpoint.stop());
    this.currentEndpoint = undefined;
    if (errors.length === 1) throw errors[0];
    if (errors.length > 1) throw new AggregateError(errors, "the WHIP publisher rig's teardown");
  }
}

/** A rig opened before and closed after each test of the enclosing describe(). */
export function whipPublisherRig(opts: WhipPublisherRigOptions = {}): WhipPublisherRig {
  const rig = new WhipPublisherRig(opts);
  beforeEach(() => rig.open());
  afterEach(() => rig.close());
  return rig;
}
