// The one function of the npm `async` package simple-whip-server's server.js calls: `series`, tasks
// one after the other, stopping at the first error, then the final callback with every result.

type Callback = (error: unknown, result?: unknown) => void;
type Task = (callback: Callback) => void;

export function series(tasks: readonly Task[], done: (error: unknown, results: unknown[]) => void): void {
  const results: unknown[] = [];
  const next = (index: number): void => {
    const task = tasks[index];
    if (task === undefined) {
      done(null, results);
      return;
    }
    task((error, result) => {
      results.push(result);
      if (error) done(error, results);
      else next(index + 1);
    });
  };
  next(0);
}
