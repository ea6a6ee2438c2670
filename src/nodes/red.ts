/** The slice of Node-RED's runtime API these nodes use (Node-RED ships no types of its own). */
export interface NodeStatus {
  fill?: "red" | "green" | "yellow" | "blue" | "grey";
  shape?: "ring" | "dot";
  text?: string;
}

export interface NodeMessage {
  _msgid?: string;
  topic?: string;
  payload?: unknown;
  [key: string]: unknown;
}

export interface Node<TCredentials = Record<string, string | undefined>> {
  id: string;
  name?: string;
  credentials: TCredentials | undefined;
  status(status: NodeStatus | Record<string, never>): void;
  send(msg: NodeMessage | (NodeMessage | null)[]): void;
  log(text: string): void;
  warn(text: string): void;
  error(text: string, msg?: NodeMessage): void;
  on(
    event: "input",
    handler: (msg: NodeMessage, send: Node["send"], done: (err?: Error) => void) => void,
  ): void;
  on(event: "close", handler: (removed: boolean, done: () => void) => void): void;
}

export interface NodeDef {
  id: string;
  type: string;
  name?: string;
  [key: string]: unknown;
}

/** Values for a catalog text's __placeholders__. */
export type TextValues = Readonly<Record<string, string | number>>;

export interface NodeAPI {
  /**
   * A text of the node's message catalog (nodes/locales/<lang>/<node>.json) in the runtime's language;
   * a key without a namespace is looked up in the catalog of the node that calls it.
   */
  _(key: string, values?: TextValues): string;
  nodes: {
    createNode(node: Node<never>, def: NodeDef): void;
    registerType(
      type: string,
      factory: (this: Node<never>, def: NodeDef) => void,
      options?: { credentials?: Record<string, { type: "text" | "password" }> },
    ): void;
  };
  events: {
    once(event: "flows:started", listener: () => void): void;
    off(event: "flows:started", listener: () => void): void;
  };
  httpNode?: unknown;
  settings?: Record<string, unknown>;
}
