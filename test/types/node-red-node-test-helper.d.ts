declare module "node-red-node-test-helper" {
  // biome-ignore lint/suspicious/noExplicitAny: the helper is untyped JavaScript
  type Any = any;
  const helper: {
    init(nodeRedRuntime: string, userSettings?: Record<string, unknown>): void;
    startServer(done: () => void): void;
    stopServer(done: () => void): void;
    load(node: unknown, flow: object[], credentials?: Record<string, object>): Promise<void>;
    unload(): Promise<void>;
    /** Redeploys: "full" restarts every node, as a full deploy in the editor does. */
    setFlows(
      flow: object[],
      type?: "full" | "nodes" | "flows",
      credentials?: Record<string, object>,
    ): Promise<void>;
    getNode(id: string): Any;
    log(): Any;
    settings(userSettings?: Record<string, unknown>): Any;
    request(): Any;
  };
  export default helper;
}
