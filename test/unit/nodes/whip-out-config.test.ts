import "../../helpers/loopback-namespace";
import assert from "node:assert/strict";
import { parseWhipOutConfig } from "../../../src/nodes/whip-out-config";

const def = (fields: Record<string, unknown> = {}) => ({ id: "w", type: "whip-out", ...fields });

describe("whip-out: configuration", () => {
  it("an https endpoint: its host as the topic and for the status, start on deploy by default", () => {
    const s = parseWhipOutConfig(def({ endpoint: " https://sfu.example.net:8443/whip/endpoint/cam1 " }), {});
    assert.equal(s.endpoint, "https://sfu.example.net:8443/whip/endpoint/cam1");
    assert.equal(s.host, "sfu.example.net:8443");
    assert.equal(s.topic, "sfu.example.net:8443");
    assert.equal(s.startOnDeploy, true);
    assert.equal(s.problem, undefined);
    assert.equal(s.token, undefined);
    assert.deepEqual(s.secrets, []);
  });

  it("the name as the topic, start on command, the token from the credentials (trimmed) and among the secrets", () => {
    const s = parseWhipOutConfig(def({ name: " lobby ", endpoint: "http://h/whip", startMode: "command" }), {
      token: " tok-123 ",
    });
    assert.deepEqual(
      [s.topic, s.startOnDeploy, s.token, s.secrets],
      ["lobby", false, "tok-123", ["tok-123"]],
    );
  });

  it("ICE servers: STUN as they are, TURN with the credentials' user and password; anything else warned about", () => {
    const s = parseWhipOutConfig(
      def({
        endpoint: "http://h/whip",
        iceServers: "stun:s.example.net:3478, turn:t.example.net?transport=udp\nhttp://x",
      }),
      { turnUser: "u", turnPassword: "turn-pass" },
    );
    assert.deepEqual(s.iceServers, [
      { urls: "stun:s.example.net:3478" },
      { urls: "turn:t.example.net?transport=udp", username: "u", credential: "turn-pass" },
    ]);
    assert.deepEqual(s.warnings, [{ key: "whip-out.warnings.ice-server", values: { url: "http://x" } }]);
    assert.deepEqual(s.secrets, ["turn-pass"]);
    const bare = parseWhipOutConfig(
      def({ endpoint: "http://h/whip", iceServers: "turns:t.example.net" }),
      undefined,
    );
    assert.deepEqual(bare.iceServers, [{ urls: "turns:t.example.net" }]);
  });

  it("no URL, or one that is not http(s): a problem, nothing to publish to", () => {
    assert.deepEqual(parseWhipOutConfig(def(), undefined).problem, { key: "whip-out.status.no-endpoint" });
    const bad = parseWhipOutConfig(def({ endpoint: "rtsp://cam/whip" }), undefined);
    assert.deepEqual(
      [bad.problem, bad.endpoint, bad.topic],
      [{ key: "whip-out.status.bad-endpoint" }, undefined, "whip-out"],
    );
  });
});
