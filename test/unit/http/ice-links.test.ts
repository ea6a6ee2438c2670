import assert from "node:assert/strict";
import { iceServerLinks } from "../../../src/http/ice-links";

describe("http/ice-links", () => {
  it("one Link value per server, TURN with its credentials quoted", () => {
    assert.deepEqual(
      iceServerLinks([
        { urls: "stun:stun.example.net" },
        { urls: "turn:turn.example.net?transport=udp", username: "user", credential: 'my"pass\\word' },
      ]),
      [
        '<stun:stun.example.net>; rel="ice-server"',
        '<turn:turn.example.net?transport=udp>; rel="ice-server"; username="user"; credential="my\\"pass\\\\word"; credential-type="password"',
      ],
    );
  });

  it("leaves out servers a header cannot carry", () => {
    assert.deepEqual(
      iceServerLinks([
        { urls: "" },
        { urls: "stun:a b" },
        { urls: "stun:<x>" },
        { urls: "turn:t.example", username: "u\r\nX-Evil: 1", credential: "p" },
        { urls: "turn:t.example", username: "用户", credential: "p" },
      ]),
      [],
    );
  });

  it("credentials only when both user and password are known", () => {
    assert.deepEqual(iceServerLinks([{ urls: "turn:t.example", username: "u" }]), [
      '<turn:t.example>; rel="ice-server"',
    ]);
  });
});
