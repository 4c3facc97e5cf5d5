import { register } from 'analytics-collect';
import { arch, cpus, freemem, platform, release, totalmem, uptime } from 'node:os';

/** A JSON collector: facts about the host, as one small document. */
export const host = register(
  { key: 'host', version: '1.0', description: 'operating system, CPUs and memory of this host' },
  async () => ({
    platform: platform(),
    release: release(),
    arch: arch(),
    cpus: cpus().length,
    cpuModel: cpus()[0]?.model ?? null,
    memoryBytes: totalmem(),
    freeMemoryBytes: freemem(),
    uptimeSeconds: Math.round(uptime()),
    node: process.version,
  }),
);
