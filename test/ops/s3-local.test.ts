import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { freePort } from '../../ops/local/ports';
import { REPO_ROOT, RedisProcess } from '../../ops/local/redis-process';
import { makeTempDir, removeTempDir } from '../../ops/local/temp-dir';
import { runOps } from '../support/ops-cli';

/** `npm run s3:local -- <args>` as package.json runs it; resolves once it printed its instructions. */
function startS3Local(args: string[]): {
  child: ChildProcess;
  printed: Promise<string>;
  exited: Promise<number | null>;
} {
  const child = spawn(
    process.execPath,
    ['--openssl-legacy-provider', join(REPO_ROOT, 'ops/launch.cjs'), 'ops/local/s3-local.ts', ...args],
    { cwd: REPO_ROOT, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  const printed = new Promise<string>((resolve) => {
    const collect = (chunk: Buffer) => {
      out += chunk.toString();
      if (out.includes('--data-dir .redis-data')) resolve(out);
    };
    child.stdout?.on('data', collect);
    child.stderr?.on('data', collect);
    child.on('close', () => resolve(out));
  });
  const exited = new Promise<number | null>((resolve) => child.on('close', resolve));
  return { child, printed, exited };
}

/** The environment and the words after `npm run -s ops --` on the printed line of `command`. */
function printedOpsArgs(output: string, command: string): { env: Record<string, string>; args: string[] } {
  const line = output.split('\n').find((candidate) => candidate.includes(`npm run -s ops -- ${command} `));
  if (line === undefined) throw new Error(`no printed ${command} line in:\n${output}`);
  const [before, after] = line.trim().split('npm run -s ops -- ') as [string, string];
  const env = Object.fromEntries(
    before
      .split(' ')
      .filter((word) => word.includes('='))
      .map((word) => word.split('=') as [string, string]),
  );
  return { env, args: after.split(' ') };
}

describe('npm run s3:local', () => {
  const dataDir = makeTempDir('s3-local');
  afterAll(() => removeTempDir(dataDir));

  it('serves a bucket and prints environment and ops lines that work as printed', async () => {
    const port = await freePort();
    const server = startS3Local(['--port', String(port), '--data-dir', dataDir]);
    const redis = await RedisProcess.start({
      env: {
        REDIS_BACKUP_PASSWORD: 'local-backup-password',
        REDIS_MONITOR_PASSWORD: 'local-monitor-password',
      },
    });
    try {
      const output = await server.printed;
      expect(output).toContain(`S3 emulator (s3rver) on http://127.0.0.1:${port}, bucket redis-backups`);
      const exported = /^ {2}export (.+)$/m.exec(output)?.[1] ?? '';
      const env = Object.fromEntries(exported.split(' ').map((pair) => pair.split('=') as [string, string]));
      expect(Object.keys(env)).toEqual(['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_REGION']);
      // The printed redis:local line names the passwords the printed ops lines use.
      expect(output).toMatch(
        /REDIS_BACKUP_PASSWORD=local-backup-password REDIS_MONITOR_PASSWORD=local-monitor-password npm run redis:local/,
      );

      // The backup line, against this test's Redis (its port instead of redis:local's 6379).
      const backup = printedOpsArgs(output, 'backup');
      const args = backup.args.map((arg) => arg.replace(':6379', `:${redis.port}`));
      const backedUp = await runOps(args, { ...env, ...backup.env });
      expect(backedUp.stderr).toBe('');
      expect(backedUp.code).toBe(0);
      expect(JSON.parse(backedUp.stdout).key).toMatch(/^snapshots\/manual\//);

      const snapshots = printedOpsArgs(output, 'snapshots');
      const listed = await runOps(snapshots.args, env);
      expect(listed.code).toBe(0);
      expect(listed.stdout).toMatch(/^snapshots\/manual\/\S+\.rdb {2}/m);

      // The restore line, into a fresh directory (the printed one is redis:local's).
      const restore = printedOpsArgs(output, 'restore');
      const into = join(dataDir, 'restored');
      const restored = await runOps(
        restore.args.map((arg) => (arg === '.redis-data' ? into : arg)),
        env,
      );
      expect(restored.code).toBe(0);
      expect(restored.stdout).toMatch(/^restored s3:\/\/redis-backups\/snapshots\/manual\//);

      // A second one on the same port: a clear refusal, exit 1.
      const second = startS3Local(['--port', String(port), '--data-dir', dataDir]);
      expect(await second.exited).toBe(1);
      expect(await second.printed).toMatch(
        new RegExp(`port ${port} on 127\\.0\\.0\\.1 is in use: .*--port <another>`),
      );
    } finally {
      server.child.kill('SIGINT');
      await redis.cleanup();
    }
    expect(await server.exited).toBe(0);
  });
});
