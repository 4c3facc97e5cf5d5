// Samples process.memoryUsage() every 20 ms and prints the peak, 25 samples and V8's heap spaces to stderr at
// exit. For a look inside a benchmark run:
//   cmd=$(npm run -s bench -- --sizes 300 --setup-only)    # sets the job up, prints BENCH_JOB=… node … gather …
//   eval "${cmd/ node / node --import ./bench/mem-sampler.mjs } > /dev/null"
import v8 from 'node:v8';

const MIB = 1024 * 1024;
const samples = [];
const start = performance.now();
setInterval(() => {
  const m = process.memoryUsage();
  samples.push([performance.now() - start, m.rss, m.heapTotal, m.heapUsed, m.external, m.arrayBuffers]);
}, 20).unref();

const line = ([t, rss, heapTotal, heapUsed, external, arrayBuffers]) =>
  `t=${(t / 1000).toFixed(2)}s rss=${(rss / MIB).toFixed(1)} heapTotal=${(heapTotal / MIB).toFixed(1)} ` +
  `heapUsed=${(heapUsed / MIB).toFixed(1)} external=${(external / MIB).toFixed(1)} arrayBuffers=${(arrayBuffers / MIB).toFixed(1)}`;

process.on('exit', () => {
  if (samples.length === 0) return;
  const peak = samples.reduce((a, b) => (b[1] > a[1] ? b : a));
  const out = [`peak ${line(peak)}`];
  const step = Math.max(1, Math.floor(samples.length / 25));
  for (let i = 0; i < samples.length; i += step) out.push(line(samples[i]));
  for (const s of v8.getHeapSpaceStatistics()) {
    if (s.space_size > 0) out.push(`space ${s.space_name}: ${(s.space_size / MIB).toFixed(1)} MiB, used ${(s.space_used_size / MIB).toFixed(1)}`);
  }
  process.stderr.write(`${out.map((l) => `MEM ${l}`).join('\n')}\n`);
});
