import { readdirSync, readFileSync, readlinkSync, realpathSync } from 'node:fs';

/**
 * PIDs of redis-server processes whose working directory is `dataDir`. Redis chdirs into its
 * `dir` and takes no lock there, so this is how a local restore notices a Redis still running on
 * the directory it is about to replace. Linux only (/proc); elsewhere it finds nothing.
 */
export function redisProcessesUsing(dataDir: string): number[] {
  let target: string;
  let entries: string[];
  try {
    target = realpathSync(dataDir);
    entries = readdirSync('/proc');
  } catch {
    return [];
  }
  const pids: number[] = [];
  for (const entry of entries) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const command = readFileSync(`/proc/${entry}/comm`, 'utf8').trim();
      if (!command.startsWith('redis-server') && !command.startsWith('redis-check')) continue;
      if (readlinkSync(`/proc/${entry}/cwd`) === target) pids.push(Number(entry));
    } catch {
      // The process ended, or is not ours to inspect.
    }
  }
  return pids;
}
