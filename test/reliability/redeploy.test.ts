import assert from "node:assert/strict";
import { redeployScenario } from "./soak/redeploy";

// The suite's scale of the redeploy scenario (`npm run soak` runs 100): full deployments through the
// admin API of Node-RED itself with two cameras and four viewers live each time.

describe("redeploys with cameras and viewers live (Node-RED process, admin API)", function () {
  this.timeout(90_000);

  it("15 full redeploys: no route, socket, peer connection or timer left; heap and RSS back", async () => {
    const lines: string[] = [];
    const row = await redeployScenario({
      durationMs: 60_000,
      redeploys: 15,
      log: (line) => lines.push(line),
    });
    assert.equal(row.result, "pass", `${JSON.stringify(row.figures, null, 2)}\n${lines.join("\n")}`);
    assert.equal(row.figures.redeploys, 15);
  });
});
