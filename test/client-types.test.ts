/**
 * End-to-end types of `wirehub/client`: run tsc on test/types/ (also part of `npm run typecheck`).
 * The fixture holds wrong calls under `@ts-expect-error`, so tsc fails if one stops being an error.
 */
import { expect, test } from "bun:test";
import { spawnSync } from "node:child_process";
import { fileURLToPath } from "node:url";

test("the typed API fixture type-checks, and its wrong calls are type errors", () => {
  const root = fileURLToPath(new URL("..", import.meta.url));
  const r = spawnSync(process.execPath, ["node_modules/typescript/bin/tsc", "-p", "test/types/tsconfig.json"], {
    cwd: root,
    encoding: "utf8",
  });
  expect(r.stdout + r.stderr).toBe("");
  expect(r.status).toBe(0);
}, 60_000);
