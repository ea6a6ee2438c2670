export type { DropReason } from "./check-auth";
export type { IceTcpLimits } from "./ice-tcp-listener";
export {
  PortTakenError,
  SharedIcePort,
  type SharedIcePortOptions,
  type SharedIcePortStats,
} from "./shared-ice-port";
