import { StreamViewers } from "../webrtc/stream-viewers";
import type { NodeAPI } from "./red";
import { registerWebrtcOut } from "./webrtc-out-node";

function register(RED: NodeAPI): void {
  registerWebrtcOut(RED, (options) => new StreamViewers(options));
}

export = register;
