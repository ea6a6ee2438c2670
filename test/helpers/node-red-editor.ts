import type { Page } from "playwright-core";

/** Opens node `id`'s edit dialog in Node-RED's editor, lets `fill` type into it, and clicks Done. */
export async function editNode(page: Page, id: string, fill: (page: Page) => Promise<void>): Promise<void> {
  await page.evaluate(`RED.editor.edit(RED.nodes.node(${JSON.stringify(id)}))`);
  await page.locator("#node-dialog-ok").waitFor({ state: "visible" });
  await page.waitForTimeout(300); // the tray slides in; oneditprepare has run once its fields are shown
  await fill(page);
  await page.click("#node-dialog-ok");
  await page.locator("#node-dialog-ok").waitFor({ state: "detached" });
}
