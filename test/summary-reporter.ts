import { mkdirSync, writeFileSync } from "node:fs";
import path from "node:path";
import Mocha from "mocha";

/**
 * The spec reporter, plus a plain "N passed, N failed, N skipped" line written for run-all.sh to print
 * last (after c8's coverage table), where CI reads a run's closing line.
 */
class SummaryReporter extends Mocha.reporters.Spec {
  constructor(runner: Mocha.Runner, options: Mocha.MochaOptions) {
    super(runner, options);
    runner.once(Mocha.Runner.constants.EVENT_RUN_END, () => {
      const { passes, failures, pending } = this.stats;
      const dir = path.join(process.cwd(), ".test-artifacts");
      mkdirSync(dir, { recursive: true });
      const summary = path.join(dir, "summary.txt");
      writeFileSync(summary, `${passes} passed, ${failures} failed, ${pending} skipped\n`);
      // Everything a test opened must be closed by now; a process that stays up names what leaked.
      setTimeout(() => {
        const leaked = process.getActiveResourcesInfo().filter((r) => r !== "Timeout");
        process.stderr.write(`leaked after the last test: ${leaked.join(", ") || "timers"}\n`);
        writeFileSync(summary, `${passes} passed, ${failures + 1} failed, ${pending} skipped\n`);
        process.exit(1);
      }, 15_000).unref();
    });
  }
}

export = SummaryReporter;
