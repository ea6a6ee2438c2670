// Node-RED settings for `npm run demo`: the defaults, without the first-run questions, on 127.0.0.1 only.
// The editor runs code: it listens on another address (DEMO_HOST) only behind a login.
//
//   DEMO_HOST                 the address to listen on (default 127.0.0.1; 0.0.0.0: every interface)
//   DEMO_ADMIN_USER           the editor's user name, and
//   DEMO_ADMIN_PASSWORD_HASH  its password's bcrypt hash (`npx node-red admin hash-pw` prints one);
//                             both are needed for any address outside 127.0.0.0/8.

const host = (process.env.DEMO_HOST || "127.0.0.1").trim();
const user = process.env.DEMO_ADMIN_USER || "";
const passwordHash = process.env.DEMO_ADMIN_PASSWORD_HASH || "";

const LOGIN_HOWTO =
  "set an editor login first: DEMO_ADMIN_USER=<name> DEMO_ADMIN_PASSWORD_HASH='<the hash `npx node-red admin hash-pw` prints>'";

function isLoopback(address) {
  return /^127(\.\d{1,3}){3}$/.test(address) || address === "::1" || address.toLowerCase() === "localhost";
}

if ((user === "") !== (passwordHash === "")) {
  throw new Error(
    `the demo's editor login needs both DEMO_ADMIN_USER and DEMO_ADMIN_PASSWORD_HASH: ${LOGIN_HOWTO}`,
  );
}
if (!isLoopback(host) && user === "") {
  const where = host === "0.0.0.0" || host === "::" ? "every interface" : host;
  throw new Error(
    `the demo will not open Node-RED's editor, which runs code, to ${where} without a login: ${LOGIN_HOWTO} DEMO_HOST=${host} npm run demo`,
  );
}

module.exports = {
  uiHost: host,
  flowFile: "flows.json",
  telemetry: { enabled: false },
  editorTheme: { tours: false, projects: { enabled: false } },
  ...(user === ""
    ? {}
    : {
        adminAuth: {
          type: "credentials",
          users: [{ username: user, password: passwordHash, permissions: "*" }],
        },
      }),
};
