/**
 * examples/chat in real headless Chromium: two pages sign in, join a room, chat, see each other
 * in presence, exchange a private message and load history over RPC.
 */
import { afterAll, beforeAll, expect, test } from "bun:test";
import { chromium, type Browser, type Page } from "playwright-core";
import { startExample, type Example } from "./example-process.ts";

let ex: Example;
let browser: Browser;

beforeAll(async () => {
  ex = await startExample("examples/chat/server.ts");
  browser = await chromium.launch({
    executablePath: "/usr/bin/chromium",
    headless: true,
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
});
afterAll(async () => {
  await browser?.close();
  await ex?.stop();
});

async function signIn(name: string): Promise<Page> {
  const page = await browser.newPage();
  page.on("dialog", (d) => void d.accept(`psst from ${name}`)); // the private-message prompt
  await page.goto(ex.url.replace(/^ws/, "http"));
  await page.fill("#name", name);
  await page.click("#signin button");
  await page.waitForFunction((n) => document.title === `chat — ${n}`, name);
  await page.waitForFunction(() => document.querySelector("#log")?.textContent?.includes("joined lobby"));
  return page;
}

const logText = (p: Page): Promise<string> => p.$eval("#log", (el) => el.textContent ?? "");

test("two Chromium pages chat: room messages, presence, a private message, history", async () => {
  const ada = await signIn("ada");
  await ada.fill("#text", "hello from ada");
  await ada.click("#say button");
  await ada.waitForFunction(() => document.querySelector("#log")?.textContent?.includes("ada: hello from ada"));

  const grace = await signIn("grace"); // history (RPC) shows what was said before she came
  expect(await logText(grace)).toContain("ada: hello from ada");
  await ada.waitForFunction(() => [...document.querySelectorAll("#who li")].some((li) => li.textContent === "grace"));
  expect(await grace.$$eval("#who li", (lis) => lis.map((li) => li.textContent).sort())).toEqual(["ada", "grace"]);

  await grace.fill("#text", "hi ada");
  await grace.click("#say button");
  await ada.waitForFunction(() => document.querySelector("#log")?.textContent?.includes("grace: hi ada"));

  await ada.click("#who li:text('grace')"); // opens the prompt, answered by the dialog handler
  await grace.waitForFunction(() => document.querySelector("#log")?.textContent?.includes("(from ada) psst from ada"));
  // The sender logs its line once the server acknowledges the message, which may come after grace has it.
  await ada.waitForFunction(() => document.querySelector("#log")?.textContent?.includes("(to grace) psst from ada"));
  expect(await logText(ada)).toContain("(to grace) psst from ada");

  await ada.screenshot({ path: ".artifacts/chat-ada.png" });
  await grace.close();
  await ada.waitForFunction(() => ![...document.querySelectorAll("#who li")].some((li) => li.textContent === "grace"));
}, 60_000); // two Chromium pages take about 4.5 s on this 2-core machine alone: bun's default 5 s is too tight under load
