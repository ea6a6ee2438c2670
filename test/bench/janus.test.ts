import assert from "node:assert/strict";
import { JANUS_INTERFACE, janusConfigFiles } from "./janus";

describe("bench Janus configuration", () => {
  const files = janusConfigFiles({
    dir: "/tmp/bench-janus",
    httpPort: 18088,
    cameraUrl: "rtsp://127.0.0.1:8554/demo",
  });

  it("the core, the streaming plugin and the HTTP transport from the bench's own folders", () => {
    assert.deepEqual(Object.keys(files).sort(), [
      "janus.jcfg",
      "janus.plugin.streaming.jcfg",
      "janus.transport.http.jcfg",
    ]);
    const core = files["janus.jcfg"] ?? "";
    assert.match(core, /configs_folder = "\/tmp\/bench-janus\/conf"/);
    assert.match(core, /plugins_folder = "\/tmp\/bench-janus\/plugins"/);
    assert.match(core, /transports_folder = "\/tmp\/bench-janus\/transports"/);
  });

  it("ICE only on its own interface: no STUN, no 1:1 NAT, half trickle, no keepalive connchecks", () => {
    const core = files["janus.jcfg"] ?? "";
    assert.match(core, new RegExp(`ice_enforce_list = "${JANUS_INTERFACE}"`));
    assert.match(core, /full_trickle = false/);
    assert.match(core, /ice_keepalive_conncheck = false/);
    assert.doesNotMatch(core, /stun_server|nat_1_1_mapping|turn_server/);
  });

  it("HTTP API on 127.0.0.1 only, admin API off", () => {
    const http = files["janus.transport.http.jcfg"] ?? "";
    assert.match(http, /port = 18088/);
    assert.match(http, /ip = "127.0.0.1"/);
    assert.match(http, /admin_http = false/);
    assert.match(http, /https = false/);
  });

  it("one RTSP mountpoint on the camera, video only", () => {
    const streaming = files["janus.plugin.streaming.jcfg"] ?? "";
    assert.match(streaming, /type = "rtsp"/);
    assert.match(streaming, /url = "rtsp:\/\/127.0.0.1:8554\/demo"/);
    assert.match(streaming, /audio = false/);
    assert.match(streaming, /video = true/);
  });
});
