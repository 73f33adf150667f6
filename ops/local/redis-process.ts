import { type ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import Redis, { type RedisOptions } from 'ioredis';

export { parseInfo } from '../../lambda/shared/redis-info';

import { freePort } from './ports';
import { REPO_ROOT } from './repo-root';
import { makeTempDir, removeTempDir } from './temp-dir';

export { REPO_ROOT };
export const REDIS_LOCAL = join(REPO_ROOT, 'docker', 'redis', 'redis-local.sh');
export const ENTRYPOINT = join(REPO_ROOT, 'docker', 'redis', 'entrypoint.sh');
export const HEALTHCHECK = join(REPO_ROOT, 'docker', 'redis', 'healthcheck.sh');
export const REDIS_CONF = join(REPO_ROOT, 'docker', 'redis', 'redis.conf');

/** Strong test passwords (>= 16 chars), so the servers run in REDIS_ENV=production mode. */
export const PASSWORDS = {
  default: 'test-default-password-0123456789',
  backup: 'test-backup-password-0123456789',
  monitor: 'test-monitor-password-0123456789',
} as const;

export interface StartOptions {
  /** Extra or overriding REDIS_* environment for the entrypoint. */
  readonly env?: Record<string, string>;
  /** Reuse a data directory (to restart on the same data). @default a new temp dir */
  readonly dataDir?: string;
  /** Reuse a port (to restart on the same address). @default a free port */
  readonly port?: number;
  /**
   * Run entrypoint.sh directly with this shell command (e.g. `['dash']`, the image's
   * /bin/sh) instead of through `npm run redis:local`'s script. @default via redis-local.sh
   */
  readonly entrypointShell?: readonly string[];
  /** Called with everything the process prints, as it prints it (before it is ready, too). */
  readonly onOutput?: (text: string) => void;
  /** More arguments for redis:local (e.g. `--tls`). */
  readonly extraArgs?: readonly string[];
}

/**
 * A real redis-server started the way `npm run redis:local` starts it: the project's entrypoint and
 * redis.conf, on a free loopback port, in a temp data dir. The spawned PID is redis-server itself
 * (every script execs), so `stop()` and `kill9()` signal Redis directly.
 */
export class RedisProcess {
  static async start(options: StartOptions = {}): Promise<RedisProcess> {
    const port = options.port ?? (await freePort());
    const ownsDataDir = options.dataDir === undefined;
    const dataDir = options.dataDir ?? makeTempDir('redis-test');
    const env: NodeJS.ProcessEnv = {
      // Not the caller's REDIS_* variables (a test may set REDIS_HOST for a client, a developer
      // REDIS_URL): the entrypoint refuses any it does not know. Only what is given here counts.
      ...withoutRedisVariables(process.env),
      REDIS_ENV: 'production',
      REDIS_PASSWORD: PASSWORDS.default,
      REDIS_BACKUP_PASSWORD: PASSWORDS.backup,
      REDIS_MONITOR_PASSWORD: PASSWORDS.monitor,
      ...options.env,
    };
    // This start's files (TLS, the health check's password): a temp dir of its own, outside the
    // data directory (whose files tests compare byte for byte), unless the caller names one.
    const ownsRuntimeDir = env.REDIS_RUNTIME_DIR === undefined;
    const runtimeDir = env.REDIS_RUNTIME_DIR ?? makeTempDir('redis-runtime');
    env.REDIS_RUNTIME_DIR = runtimeDir;
    const [command, args] = options.entrypointShell
      ? [options.entrypointShell[0] ?? 'sh', [...options.entrypointShell.slice(1), ENTRYPOINT]]
      : ['bash', [REDIS_LOCAL, '--port', String(port), '--data-dir', dataDir, ...(options.extraArgs ?? [])]];
    const child = spawn(command, args, {
      env: {
        ...env,
        ...(options.entrypointShell && {
          REDIS_PORT: String(port),
          REDIS_DATA_DIR: dataDir,
          REDIS_CONF,
          REDIS_BIND: '127.0.0.1',
        }),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const redis = new RedisProcess(
      child,
      port,
      dataDir,
      ownsDataDir,
      runtimeDir,
      ownsRuntimeDir,
      env.REDIS_PASSWORD ?? '',
      options.onOutput,
    );
    await redis.waitUntilReady();
    return redis;
  }

  private output = '';
  private readonly exited: Promise<number | null>;
  private clients: Redis[] = [];

  private constructor(
    private readonly child: ChildProcess,
    readonly port: number,
    readonly dataDir: string,
    private readonly ownsDataDir: boolean,
    /** REDIS_RUNTIME_DIR: TLS files and the health check's password of this start. */
    readonly runtimeDir: string,
    private readonly ownsRuntimeDir: boolean,
    private readonly password: string,
    onOutput?: (text: string) => void,
  ) {
    const record = (chunk: Buffer) => {
      const text = chunk.toString();
      this.output += text;
      onOutput?.(text);
    };
    child.stdout?.on('data', record);
    child.stderr?.on('data', record);
    this.exited = new Promise((resolve) => child.on('exit', (code) => resolve(code)));
  }

  get pid(): number {
    if (this.child.pid === undefined) throw new Error('redis-server has no PID');
    return this.child.pid;
  }

  /** Everything the entrypoint and redis-server printed so far. */
  get log(): string {
    return this.output;
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** A client authenticated as `user` (default: the default user). Closed by stop(). */
  client(user: 'default' | 'backup' | 'monitor' = 'default', extra: RedisOptions = {}): Redis {
    const client = new Redis({
      host: '127.0.0.1',
      port: this.port,
      username: user === 'default' ? undefined : user,
      password: user === 'default' ? this.password : PASSWORDS[user],
      maxRetriesPerRequest: 0,
      enableOfflineQueue: true,
      retryStrategy: () => null,
      disableClientInfo: true,
      disconnectTimeout: 100,
      ...extra,
    });
    client.on('error', () => {});
    this.clients.push(client);
    return client;
  }

  private async waitUntilReady(timeoutMs = 10_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (!this.running) {
        const code = await this.exited;
        throw new Error(`redis-server exited (code ${code}) before it was ready:\n${this.output}`);
      }
      if (this.output.includes('Ready to accept connections')) return;
      await sleep(25);
    }
    this.child.kill('SIGKILL');
    throw new Error(`redis-server not ready after ${timeoutMs} ms:\n${this.output}`);
  }

  /** Sends `signal` and waits for the exit code. */
  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> {
    this.disconnectClients();
    if (this.running) process.kill(this.pid, signal);
    return this.exited;
  }

  /** A crash: SIGKILL, no chance to persist anything. */
  async kill9(): Promise<void> {
    this.disconnectClients();
    if (this.running) process.kill(this.pid, 'SIGKILL');
    await this.exited;
  }

  /** Stops Redis (if still running) and removes the data dir this process created. */
  async cleanup(): Promise<void> {
    if (this.running) await this.kill9();
    this.disconnectClients();
    if (this.ownsDataDir) removeTempDir(this.dataDir);
    if (this.ownsRuntimeDir) removeTempDir(this.runtimeDir);
  }

  private disconnectClients(): void {
    for (const client of this.clients) client.disconnect();
    this.clients = [];
  }
}

function withoutRedisVariables(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(env).filter(([name]) => !name.startsWith('REDIS_')));
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
