/**
 * heap.ts: how the action's V8 heap is sized. A build step mostly relays bytes (the build's
 * log, artifacts, the cache): each read of a socket allocates a little short-lived JavaScript
 * (Node's stream and HTTP machinery) and a malloc'd buffer that is freed only when that garbage
 * is collected. V8 doubles its young generation (up to 16 MiB per semi-space on a 64-bit
 * runner) whenever enough bytes survive its scavenges, and on a long stream they always do:
 * the young generation then holds 32 MiB, and up to as much again of dead read buffers waits in
 * malloc for the next, rarer scavenge. Keeping the young generation at its initial size
 * (semi-space growth factor 1) scavenges more often and cheaply, and keeps the step's peak
 * memory flat: the 100 MiB log relay goes from 123-126 to 86-95 MiB of peak RSS, at the same
 * throughput (docs/benchmarks.md, "Log relay memory").
 *
 * The runner starts the action as `node dist/main.js` with no options, so the flag is set from
 * inside (node:v8 setFlagsFromString). It is read each time V8 decides whether to grow the
 * young generation, so setting it after start-up takes effect; the semi-space's maximum, read
 * once when the heap is set up, could not be changed this way.
 *
 * main.ts sets it as main() starts. Any flag change also changes V8's flag hash, so Node's
 * built-in modules loaded afterwards compile without their embedded code cache: set on the
 * first line of dist/main.js, it cost about 20 ms of CPU before an input error; by main(), the
 * entry's modules (and @actions/core's) are loaded and it costs nothing measurable. Set later,
 * once the build's code is loaded, the young generation has already grown to 8 MiB (it never
 * shrinks back while the step is busy): a 512 MiB upload then peaked at 141-146 MiB instead of
 * 119-128. A V8 that ignored the flag would only use more memory.
 */
import { setFlagsFromString } from 'node:v8';

/** keepYoungGenerationSmall sets V8's semi-space growth factor to 1 (see the file comment). */
export function keepYoungGenerationSmall(): void {
  setFlagsFromString('--semi-space-growth-factor=1');
}
