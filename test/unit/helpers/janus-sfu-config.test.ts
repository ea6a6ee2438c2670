import assert from "node:assert/strict";
import { JANUS_INTERFACE } from "../../helpers/janus-interface";
import { janusSfuConfigFiles } from "../../helpers/janus-sfu";
import { series } from "../../helpers/whip-server-modules/async";

describe("Janus SFU configuration of the WHIP tests", () => {
  const files = janusSfuConfigFiles({
    dir: "/tmp/sfu",
    httpPort: 18088,
    wsPort: 18188,
    rooms: [
      { id: 1001, description: "front" },
      { id: 1002, description: "yard" },
    ],
  });

  it("the core, VideoRoom and the HTTP and WebSocket transports, from the test's own folders", () => {
    assert.deepEqual(Object.keys(files).sort(), [
      "janus.jcfg",
      "janus.plugin.videoroom.jcfg",
      "janus.transport.http.jcfg",
      "janus.transport.websockets.jcfg",
    ]);
    assert.match(files["janus.jcfg"] ?? "", /plugins_folder = "\/tmp\/sfu\/plugins"/);
  });

  it("ICE only on Janus's own interface, half trickle, no keepalive connchecks (libnice 0.1.21)", () => {
    const core = files["janus.jcfg"] ?? "";
    assert.match(core, new RegExp(`ice_enforce_list = "${JANUS_INTERFACE}"`));
    assert.match(core, /full_trickle = false/);
    assert.match(core, /ice_keepalive_conncheck = false/);
    assert.doesNotMatch(core, /stun_server|nat_1_1_mapping|turn_server/);
  });

  it("both APIs on 127.0.0.1 only, no admin API", () => {
    const http = files["janus.transport.http.jcfg"] ?? "";
    const ws = files["janus.transport.websockets.jcfg"] ?? "";
    assert.match(http, /port = 18088\n\tip = "127.0.0.1"/);
    assert.match(ws, /ws_port = 18188\n\tws_ip = "127.0.0.1"/);
    assert.match(http, /admin_http = false/);
    assert.match(ws, /admin_ws = false/);
  });

  it("one room per camera: one publisher, H.264, Opus, PCMA or PCMU", () => {
    const rooms = files["janus.plugin.videoroom.jcfg"] ?? "";
    for (const id of [1001, 1002]) assert.match(rooms, new RegExp(`room-${id}: \\{`));
    assert.equal(rooms.match(/publishers = 1/g)?.length, 2);
    assert.equal(rooms.match(/videocodec = "h264"/g)?.length, 2);
    assert.equal(rooms.match(/audiocodec = "opus,pcma,pcmu"/g)?.length, 2);
  });
});

describe("async.series stand-in for simple-whip-server", () => {
  it("runs the tasks in order and hands every result to the end", (done) => {
    const order: number[] = [];
    series(
      [
        (cb) =>
          setImmediate(() => {
            order.push(1);
            cb(null, "a");
          }),
        (cb) => {
          order.push(2);
          cb(null, "b");
        },
      ],
      (error, results) => {
        assert.equal(error, null);
        assert.deepEqual(order, [1, 2]);
        assert.deepEqual(results, ["a", "b"]);
        done();
      },
    );
  });

  it("stops at the first error", (done) => {
    let ranThird = false;
    series(
      [
        (cb) => cb(null, 1),
        (cb) => cb("no Janus"),
        () => {
          ranThird = true;
        },
      ],
      (error, results) => {
        assert.equal(error, "no Janus");
        assert.deepEqual(results, [1, undefined]);
        assert.equal(ranThird, false);
        done();
      },
    );
  });
});
