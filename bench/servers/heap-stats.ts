/**
 * Heap statistics for `bench/heap.ts`. When the server runs with HEAP_STATS=PREFIX, each call
 * (a bench server makes it after the full GC its SIGUSR2 asks for) writes PREFIX-PID-N.json:
 * `process.memoryUsage()`, V8's heap spaces (Node, Deno) or JSC's heap figures (Bun).
 * Without HEAP_STATS it does nothing.
 */
import { writeFileSync } from "node:fs";
import * as v8 from "node:v8";

const prefix = process.env.HEAP_STATS;
// A computed specifier: the Node bundle must not try to resolve Bun's module.
const jscName = "bun:jsc";
const jsc = prefix && "Bun" in globalThis ? ((await import(jscName)) as { heapStats(): unknown }) : undefined;
let written = 0;

/** Write the statistics file (see the module comment). */
export function writeHeapStats(): void {
  if (!prefix) return;
  let spaces: unknown[] = [];
  try {
    spaces = v8.getHeapSpaceStatistics();
  } catch {
    // not every runtime's node:v8 has it
  }
  // JSC's totals only (its per-type object counts would make the file large)
  const h = jsc?.heapStats() as { heapSize: number; heapCapacity: number; extraMemorySize: number; objectCount: number } | undefined;
  const jscTotals = h && { heapSize: h.heapSize, heapCapacity: h.heapCapacity, extraMemorySize: h.extraMemorySize, objectCount: h.objectCount };
  writeFileSync(`${prefix}-${process.pid}-${++written}.json`, JSON.stringify({ memory: process.memoryUsage(), spaces, jsc: jscTotals }));
}
