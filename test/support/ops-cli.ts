import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { REPO_ROOT } from '../../ops/local/redis-process';

export interface CliResult {
  readonly code: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/**
 * Runs `npm run -s ops -- <args>` the way an operator does: node ops/launch.cjs (the prebuilt
 * bundle, rebuilt when a source changed), a separate process.
 * `onSpawn` gets the process, e.g. to interrupt it.
 */
export function runOps(
  args: readonly string[],
  env: Record<string, string> = {},
  onSpawn: (child: ChildProcess) => void = () => {},
): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    // As `npm run ops` runs it: one node process. (The tsx CLI would run a second node and relay
    // signals to it, killing it with SIGKILL when it does not answer a Ctrl-C within 30 ms, e.g.
    // while it streams a backup: no abort of the upload.)
    const child = spawn(process.execPath, [join(REPO_ROOT, 'ops/launch.cjs'), 'ops/cli.ts', ...args], {
      cwd: REPO_ROOT,
      env: {
        ...process.env,
        AWS_EC2_METADATA_DISABLED: 'true',
        ...env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    onSpawn(child);
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

/** Credentials and region s3rver accepts, as environment for the CLI. */
export const S3RVER_ENV = {
  AWS_ACCESS_KEY_ID: 'S3RVER',
  AWS_SECRET_ACCESS_KEY: 'S3RVER',
  AWS_REGION: 'us-east-1',
} as const;
