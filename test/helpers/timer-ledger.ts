import path from "node:path";

/** Where the package's own compiled code lives: timers made from there are the ones a test holds to account. */
const PACKAGE_CODE = `${path.resolve(__dirname, "../../src")}${path.sep}`;

interface Entry {
  readonly kind: "timeout" | "interval";
  readonly createdAt: string;
  cleared: boolean;
  fired: boolean;
}

/**
 * Watches the global timer functions while it is open and remembers every timeout or interval the
 * package's code (dist/src) creates, with where it was created. `pending()` lists those still armed: not
 * cleared, and (for a timeout) not yet fired. The package uses the global timer functions, which is what
 * lets a wrapper see them; a timer the package forgets to clear is listed whatever it would do on firing.
 */
export class TimerLedger {
  private readonly entries: Entry[] = [];
  private readonly byTimer = new Map<unknown, Entry>();
  private readonly restore: () => void;

  private constructor() {
    const original = {
      setTimeout: globalThis.setTimeout,
      setInterval: globalThis.setInterval,
      clearTimeout: globalThis.clearTimeout,
      clearInterval: globalThis.clearInterval,
    };
    const track = (kind: Entry["kind"], create: typeof setTimeout) =>
      ((callback: (...args: unknown[]) => void, ms?: number, ...args: unknown[]) => {
        const createdAt = packageFrame(new Error().stack ?? "");
        if (createdAt === undefined) return create(callback, ms, ...args);
        const entry: Entry = { kind, createdAt, cleared: false, fired: false };
        const timer = create(
          (...given: unknown[]) => {
            entry.fired = true;
            callback(...given);
          },
          ms,
          ...args,
        );
        this.entries.push(entry);
        this.byTimer.set(timer, entry);
        return timer;
      }) as typeof setTimeout;
    const untrack =
      (clear: (timer?: NodeJS.Timeout | string | number) => void) =>
      (timer?: NodeJS.Timeout | string | number) => {
        const entry = this.byTimer.get(timer);
        if (entry) entry.cleared = true;
        clear(timer);
      };
    globalThis.setTimeout = track("timeout", original.setTimeout);
    globalThis.setInterval = track(
      "interval",
      original.setInterval as typeof setTimeout,
    ) as typeof setInterval;
    globalThis.clearTimeout = untrack(original.clearTimeout);
    globalThis.clearInterval = untrack(original.clearInterval);
    this.restore = () => Object.assign(globalThis, original);
  }

  /** Starts watching; call `close()` when done (an `afterEach` is the safe place). */
  static open(): TimerLedger {
    return new TimerLedger();
  }

  /** How many timers the package's code created since `open()`. */
  get created(): number {
    return this.entries.length;
  }

  /** "timeout|interval created at <frame>" for every timer of the package's code still armed. */
  pending(): string[] {
    return this.entries
      .filter((e) => !e.cleared && !(e.kind === "timeout" && e.fired))
      .map((e) => `${e.kind} created at ${e.createdAt}`);
  }

  close(): void {
    this.restore();
  }
}

/** The caller's frame (just below the wrapper's own), when the caller is the package's code. */
function packageFrame(stack: string): string | undefined {
  const caller = stack.split("\n")[2];
  return caller?.includes(PACKAGE_CODE) ? caller.trim().replace(/^at /, "") : undefined;
}
