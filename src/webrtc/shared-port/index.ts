export { PortTakenError, SharedIcePort, type SharedIcePortOptions } from "./shared-ice-port";
