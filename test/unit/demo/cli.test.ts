import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { connect } from "node:net";
import { join } from "node:path";
import { parseCliArgs } from "../../../src/demo/cli";

const CLI = join(__dirname, "..", "..", "..", "src", "demo", "cli.js");

describe("demo camera CLI", function () {
  this.timeout(10000);

  it("parses its options and refuses bad ones", () => {
    assert.deepEqual(parseCliArgs([]), {
      port: 8554,
      host: "127.0.0.1",
      path: "/demo",
      username: undefined,
      password: undefined,
      startAt: "random",
      verbose: false,
      requireReceiverReportsMs: undefined,
      supportGetParameter: true,
    });
    const all = [
      "--port",
      "0",
      "--host",
      "::1",
      "--path",
      "cam",
      "--user",
      "u",
      "--password",
      "p",
      "--start-at",
      "start",
      "-v",
      "--require-rr",
      "3000",
      "--no-get-parameter",
    ];
    assert.deepEqual(parseCliArgs(all), {
      port: 0,
      host: "::1",
      path: "cam",
      username: "u",
      password: "p",
      startAt: "start",
      verbose: true,
      requireReceiverReportsMs: 3000,
      supportGetParameter: false,
    });
    assert.match(String(parseCliArgs(["--help"])), /^Usage/);
    assert.match(String(parseCliArgs(["--port", "99999"])), /^bad --port/);
    assert.match(String(parseCliArgs(["--user", "u"])), /^--user and --password go together/);
    assert.match(String(parseCliArgs(["--start-at", "end"])), /^bad --start-at end/);
    for (const bad of ["0", "-5", "soon", ""]) {
      assert.match(String(parseCliArgs([`--require-rr=${bad}`])), /^bad --require-rr/, bad);
    }
    assert.match(String(parseCliArgs(["--bogus"])), /Unknown option/);
  });

  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    it(`prints its URL, serves RTSP, and exits with 0 on ${signal}`, async () => {
      const child = spawn(process.execPath, [CLI, "--port", "0", "--user", "u", "--password", "p"], {
        stdio: ["ignore", "pipe", "pipe"],
      });
      let stdout = "";
      child.stdout.on("data", (chunk: Buffer) => {
        stdout += chunk.toString();
      });
      const exited = once(child, "exit");
      try {
        const deadline = Date.now() + 5000;
        while (!/with credentials: /.test(stdout) && Date.now() < deadline)
          await new Promise((r) => setTimeout(r, 20));
        const url = /^demo camera: (rtsp:\/\/127\.0\.0\.1:(\d+)\/demo)$/m.exec(stdout);
        assert.ok(url, stdout);
        assert.match(
          stdout,
          new RegExp(`^with credentials: rtsp://u:p@127\\.0\\.0\\.1:${url[2]}/demo$`, "m"),
        );
        const socket = connect(Number(url[2]), "127.0.0.1");
        await once(socket, "connect");
        socket.write(`OPTIONS ${url[1]} RTSP/1.0\r\nCSeq: 1\r\n\r\n`);
        const [reply] = (await once(socket, "data")) as [Buffer];
        assert.match(reply.toString(), /^RTSP\/1\.0 200 OK\r\n/);
        const started = Date.now();
        child.kill(signal);
        const [code] = (await exited) as [number | null];
        assert.equal(code, 0);
        assert.ok(Date.now() - started < 2000, "exits promptly, with its open connection closed");
        socket.destroy();
      } finally {
        if (child.exitCode === null) child.kill("SIGKILL");
      }
    });
  }
});
