// Peer "sharp": libvips through sharp, the library AWS's Serverless Image Handler resizes with, used the idiomatic
// way: one pipeline per rendition, `rotate()` for the EXIF orientation, `resize(s, s, { fit: 'inside' })`.
// Measured like the Python peers (bench/peers/harness.py): fresh input memory per iteration, one untimed warm-up,
// then enough timed iterations to fill the target time; prints one JSON object.
//
// One core: `bench/run.py` pins this process to one CPU and sets UV_THREADPOOL_SIZE=1 and VIPS_CONCURRENCY=1;
// `sharp.concurrency(1)` below makes libvips use one worker thread per image. Everything else is sharp's default
// (its operation cache included), as a Lambda using sharp would run it.
import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import sharp from "sharp";

const MAX_ITERATIONS = 200;

sharp.concurrency(1);

/** The renditions of `input` as JPEGs at `quality`, one per size, each from its own sharp pipeline. */
async function render(input, sizes, quality) {
  const outputs = [];
  for (const size of sizes) {
    const { data, info } = await sharp(input)
      .rotate()
      .resize(size, size, { fit: "inside" })
      .jpeg({ quality })
      .toBuffer({ resolveWithObject: true });
    outputs.push({ size, width: info.width, height: info.height, bytes: data.length });
  }
  return outputs;
}

/** Same rule as harness.iterations: fill `targetSeconds` judged from the warm-up, at least `minimum`. */
function iterations(warmupMs, targetSeconds, minimum) {
  return Math.max(minimum, Math.min(MAX_ITERATIONS, Math.ceil((targetSeconds * 1000) / Math.max(warmupMs, 0.001))));
}

async function timed(image, sizes, quality) {
  const input = readFileSync(image); // untimed, and new memory each time, as in the Python peers
  const start = process.hrtime.bigint();
  const cpuStart = process.cpuUsage(); // all threads, libvips' included
  const outputs = await render(input, sizes, quality);
  const cpu = process.cpuUsage(cpuStart);
  return [Number(process.hrtime.bigint() - start) / 1e6, (cpu.user + cpu.system) / 1e3, outputs];
}

/** VmHWM, this process's own peak RSS in KiB; why not `resourceUsage().maxRSS`: see harness.peak_rss_kb. */
function peakRssKb() {
  return Number(/^VmHWM:\s+(\d+) kB$/m.exec(readFileSync("/proc/self/status", "utf8"))[1]);
}

function median(values) {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[middle] : (sorted[middle - 1] + sorted[middle]) / 2;
}

const { values, positionals } = parseArgs({
  allowPositionals: true,
  options: {
    sizes: { type: "string" },
    quality: { type: "string" },
    "target-seconds": { type: "string" },
    "min-iterations": { type: "string" },
  },
});
const [image] = positionals;
const sizes = values.sizes.split(",").map(Number);
const quality = Number(values.quality);

const baselineKb = peakRssKb(); // the runtime and sharp, before any image is touched
const [warmupMs, , outputs] = await timed(image, sizes, quality);
const count = iterations(warmupMs, Number(values["target-seconds"]), Number(values["min-iterations"]));
const timings = [];
const cpuTimings = [];
for (let i = 0; i < count; i++) {
  const [wallMs, cpuMs] = await timed(image, sizes, quality);
  timings.push(wallMs);
  cpuTimings.push(cpuMs);
}
console.log(
  JSON.stringify({
    peer: "sharp",
    versions: { sharp: sharp.versions.sharp, libvips: sharp.versions.vips, node: process.versions.node },
    iterations: count,
    warmup_ms: warmupMs,
    median_ms: median(timings),
    timings_ms: timings,
    cpu_timings_ms: cpuTimings,
    baseline_rss_kb: baselineKb,
    max_rss_kb: peakRssKb(),
    ru_maxrss_kb: process.resourceUsage().maxRSS,
    renditions: outputs,
  }),
);
