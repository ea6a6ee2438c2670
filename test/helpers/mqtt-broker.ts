import { createServer, type Server, type Socket } from "node:net";
import { Aedes } from "aedes";

export interface MqttBroker {
  readonly port: number;
  /** mqtt://127.0.0.1:PORT */
  readonly url: string;
  close(): Promise<void>;
}

/** A real MQTT broker (aedes) on 127.0.0.1 at a free port. */
export async function startMqttBroker(): Promise<MqttBroker> {
  const broker = await Aedes.createBroker();
  const server: Server = createServer(broker.handle);
  const sockets = new Set<Socket>();
  server.on("connection", (socket) => {
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  const port = typeof address === "object" && address ? address.port : 0;
  return {
    port,
    url: `mqtt://127.0.0.1:${port}`,
    close: async () => {
      await new Promise<void>((resolve) => broker.close(() => resolve()));
      for (const socket of sockets) socket.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
