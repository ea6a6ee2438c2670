import { loopbackOnlyProblem, NAMESPACE_COMMAND } from "./loopback-only";

// Imported for its effect by every test module that makes WebRTC peers, drives a browser or runs
// Node-RED with this package: loading it outside a network namespace holding only loopback fails at once,
// before any packet could leave for a real interface. Pure unit tests do not import it and run anywhere.
const problem = loopbackOnlyProblem();
if (problem !== undefined) {
  throw new Error(
    `${problem}: run inside a network namespace holding only loopback: ${NAMESPACE_COMMAND} (as root; otherwise add --map-root-user after unshare)`,
  );
}
