// Preloaded into a CLI child (node --import): writes the process's peak RSS in bytes to $PEAK_RSS_FILE at exit,
// so a test can bound the memory of a real command without timing anything.
import { writeFileSync } from 'node:fs';

process.on('exit', () => {
  if (process.env.PEAK_RSS_FILE) writeFileSync(process.env.PEAK_RSS_FILE, String(process.resourceUsage().maxRSS * 1024));
});
