import assert from "node:assert/strict";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { RtspError } from "../../src/rtsp/errors";
import { RtspSession, type SessionOptions } from "../../src/rtsp/session";
import {
  type Answer,
  basicAuth,
  digestAuth,
  type PeerRequest,
  playing,
  RtspPeer,
  type RtspPeerOptions,
  redirecting,
} from "../helpers/rtsp-peer";
import { makeSelfSigned, type TestCertificate } from "../helpers/tls-proxy";

const USER = "admin";
const PASSWORD = "Redirect-Pa55";
const BASIC_VALUE = Buffer.from(`${USER}:${PASSWORD}`).toString("base64");

/**
 * Credentials go to the host, port and scheme they were configured for, and nowhere else: a camera's
 * 301/302 to anywhere else is followed without them, a redirect from rtsps:// to rtsp:// is refused, and
 * every connection starts without an Authorization until its server asks. The cameras here are RTSP
 * peers on loopback that answer redirects and challenges and keep every request they receive.
 */
describe("credentials and redirects (RtspSession against RTSP peers on loopback)", function () {
  this.timeout(30_000);
  const cleanups: (() => Promise<void> | void)[] = [];
  let certDir: string;
  let certificate: TestCertificate;

  before(() => {
    certDir = mkdtempSync(join(tmpdir(), "rtsp-redirect-"));
    certificate = makeSelfSigned(certDir);
  });

  after(() => rmSync(certDir, { recursive: true, force: true }));

  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  async function peer(answer: Answer, options: RtspPeerOptions = {}): Promise<RtspPeer> {
    const started = await RtspPeer.start(answer, options);
    cleanups.push(() => started.close());
    return started;
  }

  function session(url: string, extra: Partial<SessionOptions> = {}): RtspSession {
    const created = new RtspSession({
      url,
      username: USER,
      password: PASSWORD,
      transport: "tcp",
      media: "video",
      userAgent: "node-red-rtsp-webrtc-test",
      connectTimeoutMs: 5000,
      replyTimeoutMs: 5000,
      noMediaTimeoutMs: 10_000,
      rejectUnauthorized: false,
      ...extra,
    });
    cleanups.push(() => created.close());
    return created;
  }

  /**
   * A camera behind `auth` whose DESCRIBE redirects to /moved on a second peer, started after it (so
   * that peer may take the camera's port on another address).
   */
  async function redirectingCamera(
    auth: (user: string, password: string, then: Answer) => Answer,
    elsewhereAnswer: Answer,
    elsewhereOptions: (camera: RtspPeer) => RtspPeerOptions = () => ({}),
  ): Promise<{ camera: RtspPeer; elsewhere: RtspPeer }> {
    let elsewhere: RtspPeer | undefined;
    const camera = await peer(
      auth(
        USER,
        PASSWORD,
        redirecting(() => elsewhere!.url("/moved")),
      ),
    );
    elsewhere = await peer(elsewhereAnswer, elsewhereOptions(camera));
    return { camera, elsewhere };
  }

  /** What play() ended with: the number of tracks, or the error. */
  async function outcome(s: RtspSession): Promise<number | RtspError> {
    try {
      return (await s.play()).length;
    } catch (error) {
      assert.ok(error instanceof RtspError, String(error));
      return error;
    }
  }

  function assertNoCredentials(where: RtspPeer): void {
    assert.deepEqual(
      where.authorized().map((r) => `${r.method} ${r.headers.get("authorization")}`),
      [],
      `no request to ${where.hostPort} carries an Authorization`,
    );
  }

  const describeTo = (path: string) => (r: PeerRequest) => r.method === "DESCRIBE" && r.url.endsWith(path);

  it("a Basic camera redirecting to another port: the new host gets no Authorization, and asking for one is a clear error", async () => {
    const { camera, elsewhere } = await redirectingCamera(basicAuth, basicAuth(USER, PASSWORD, playing()));
    const result = await outcome(session(camera.url()));
    assertNoCredentials(elsewhere);
    assert.ok(result instanceof RtspError);
    assert.equal(
      result.message,
      `401 Unauthorized: the camera redirected to ${elsewhere.hostPort} which asks for a password; ` +
        `credentials are only sent to ${camera.hostPort}`,
    );
    assert.equal(result.code, "auth");
    assert.equal(result.statusCode, 401);
    assert.ok(camera.authorized().length > 0, "the camera itself asked and got the credentials");
    assert.ok(
      elsewhere.requests.some((r) => r.method === "DESCRIBE"),
      "the redirect was followed",
    );
  });

  it("a Digest camera redirecting to another host on the same port (127.0.0.2): no Authorization there, ever", async () => {
    const { camera, elsewhere } = await redirectingCamera(
      digestAuth,
      digestAuth(USER, PASSWORD, playing()),
      (c) => ({ host: "127.0.0.2", port: c.port }),
    );
    const result = await outcome(session(camera.url()));
    assertNoCredentials(elsewhere);
    assert.ok(result instanceof RtspError);
    assert.match(result.message, /^401 Unauthorized: the camera redirected to 127\.0\.0\.2:\d+ which asks/);
    assert.ok(camera.authorized().length > 0);
    assert.ok(elsewhere.requests.length > 0, "the redirect was followed");
  });

  it("a Digest camera redirecting to a host that asks for Basic: the password does not go there", async () => {
    const { camera, elsewhere } = await redirectingCamera(digestAuth, basicAuth(USER, PASSWORD, playing()));
    const result = await outcome(session(camera.url()));
    assertNoCredentials(elsewhere);
    assert.ok(result instanceof RtspError);
    assert.equal(result.code, "auth");
    const seen = elsewhere.requests.map((r) => JSON.stringify([...r.headers])).join("\n");
    assert.ok(!seen.includes(BASIC_VALUE) && !seen.includes(PASSWORD), "no password in any header");
  });

  it("a redirect to another host that asks for nothing is followed without credentials, and plays", async () => {
    const { camera, elsewhere } = await redirectingCamera(digestAuth, playing(), () => ({
      host: "127.0.0.2",
    }));
    assert.equal(await outcome(session(camera.url())), 1);
    assert.deepEqual(
      elsewhere.requests.map((r) => r.method),
      ["OPTIONS", "DESCRIBE", "SETUP", "PLAY"],
    );
    assertNoCredentials(elsewhere);
  });

  it("a redirect on the same host, port and scheme: the new connection starts without, and gets them once asked", async () => {
    const camera = await peer(
      digestAuth(
        USER,
        PASSWORD,
        redirecting((r) => (describeTo("/old")(r) ? camera.url("/new") : undefined)),
      ),
    );
    assert.equal(await outcome(session(camera.url("/old"))), 1);
    assert.equal(camera.connections, 2);
    const second = camera.requests.filter((r) => r.connection === 2);
    assert.deepEqual(
      second.map((r) => `${r.method} ${r.headers.has("authorization") ? "with" : "without"}`),
      ["OPTIONS without", "DESCRIBE without", "DESCRIBE with", "SETUP with", "PLAY with"],
      "the authenticator of the first connection is not carried over",
    );
    assert.ok(second.some((r) => r.method === "DESCRIBE" && r.url.endsWith("/new")));
  });

  it("rtsps:// redirecting to rtsp:// is refused: nothing connects to the plain host", async () => {
    let plain: RtspPeer | undefined;
    const camera = await peer(
      digestAuth(
        USER,
        PASSWORD,
        redirecting(() => plain!.url("/clear")),
      ),
      {
        tls: certificate,
      },
    );
    plain = await peer(playing());
    const result = await outcome(session(camera.url()));
    assert.ok(result instanceof RtspError);
    assert.equal(
      result.message,
      `the camera redirected from rtsps:// to rtsp://${plain.hostPort}, which is not encrypted: refused`,
    );
    assert.equal(result.code, "redirect");
    assert.equal(plain.connections, 0);
  });

  it("sends Basic only once the camera asks for it, and says once per session that the password travels unencrypted", async () => {
    const camera = await peer(basicAuth(USER, PASSWORD, playing()));
    const s = session(camera.url());
    const warnings: string[] = [];
    s.on("plaintextPassword", (server) => warnings.push(server));
    assert.equal(await outcome(s), 1);
    assert.deepEqual(
      camera.requests.map((r) => `${r.method} ${r.headers.has("authorization") ? "with" : "without"}`),
      ["OPTIONS without", "DESCRIBE without", "DESCRIBE with", "SETUP with", "PLAY with"],
    );
    assert.deepEqual(warnings, [camera.hostPort]);
  });

  it("says nothing of the kind for Digest over rtsp://, nor for Basic over rtsps://", async () => {
    const digest = await peer(digestAuth(USER, PASSWORD, playing()));
    const basicTls = await peer(basicAuth(USER, PASSWORD, playing()), { tls: certificate });
    const warnings: string[] = [];
    for (const url of [digest.url(), basicTls.url()]) {
      const s = session(url);
      s.on("plaintextPassword", (server) => warnings.push(server));
      assert.equal(await outcome(s), 1, url);
    }
    assert.ok(basicTls.authorized().length > 0, "Basic went through TLS");
    assert.deepEqual(warnings, []);
  });
});
