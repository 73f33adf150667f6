import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { freePort } from './ports';
import { REPO_ROOT } from './repo-root';

export interface LocalServer {
  readonly endpoint: string;
  readonly process: ChildProcess;
}

/**
 * Runs a TypeScript server script (args: <port> ...) in a node process of its own, on a free
 * loopback port; resolves once it prints "ready". Plain node with tsx's loader (not the tsx CLI,
 * which runs a second node), so the server is this PID and its CPU time can be read from /proc.
 * OpenSSL's legacy provider is on for s3rver: its ListObjectsV2 continuation tokens use DES, which
 * Node's OpenSSL 3 refuses otherwise (any truncated listing fails with InternalError).
 */
export async function startNodeServer(script: string, args: string[]): Promise<LocalServer> {
  const port = await freePort();
  const child = spawn(
    process.execPath,
    ['--openssl-legacy-provider', '--import', 'tsx', script, String(port), ...args],
    { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'inherit'] },
  );
  await new Promise<void>((resolve, reject) => {
    child.stdout?.on('data', (chunk: Buffer) => chunk.toString().includes('ready') && resolve());
    child.on('exit', (code) => reject(new Error(`${script} exited with ${code}`)));
  });
  return { endpoint: `http://127.0.0.1:${port}`, process: child };
}

/** s3rver with one bucket, storing under `directory`, in a process of its own (ops/local/s3rver-main.ts). */
export function startS3rverProcess(directory: string, bucket: string): Promise<LocalServer> {
  return startNodeServer(join(REPO_ROOT, 'ops/local/s3rver-main.ts'), [directory, bucket]);
}
