import { EventEmitter } from "node:events";

// The part of the npm `websocket` package's client that simple-whip-server's whip-janus.js uses, on
// Node's own WebSocket (Node 22): `new client()`, `connect(url, protocol)`, the `connect` and
// `connectFailed` events, and a connection with `sendUTF`, `close` and `message`/`close`/`error` events.
// The package itself pulls native add-ons (bufferutil, utf-8-validate) with install scripts, and
// es5-ext with a postinstall, for what Node 22 has built in.

interface Message {
  readonly type: "utf8";
  readonly utf8Data: string;
}

class Connection extends EventEmitter {
  constructor(private readonly socket: WebSocket) {
    super();
    socket.addEventListener("message", (event) => {
      const message: Message = { type: "utf8", utf8Data: String(event.data) };
      this.emit("message", message);
    });
    socket.addEventListener("close", () => this.emit("close"));
    // A WebSocket error is followed by close; whip-janus.js only logs it.
    socket.addEventListener("error", () => this.emit("error", new Error("WebSocket error")));
  }

  sendUTF(text: string): void {
    if (this.socket.readyState === WebSocket.OPEN) this.socket.send(text);
  }

  close(): void {
    this.socket.close();
  }
}

export class client extends EventEmitter {
  connect(url: string, protocol: string): void {
    let opened = false;
    const socket = new WebSocket(url, protocol);
    socket.addEventListener("open", () => {
      opened = true;
      this.emit("connect", new Connection(socket));
    });
    socket.addEventListener("close", () => {
      if (!opened) this.emit("connectFailed", new Error(`cannot connect to ${url}`));
    });
    // The close that follows reports the failure.
    socket.addEventListener("error", () => {});
  }
}
