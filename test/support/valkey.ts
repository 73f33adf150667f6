import { type ChildProcess, spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync } from 'node:fs';
import { basename, join } from 'node:path';
import Redis, { type RedisOptions } from 'ioredis';
import { freePort } from '../../ops/local/ports';
import { sleep } from '../../ops/local/redis-process';
import { removeTempDir } from '../../ops/local/temp-dir';

/**
 * The Debian trixie chroot with valkey-server 8.1 (the engine of ElastiCache for Valkey) that
 * `.ci/prepare-machine` makes once and reuses; the same variable moves it.
 */
export const VALKEY_CHROOT = process.env.REDIS_ECS_VALKEY_CHROOT ?? '/var/tmp/redis-on-ecs-valkey-trixie';

/** The file name the RDB given to {@link ValkeyProcess.start} gets in the data directory. */
const DBFILENAME = 'seed.rdb';

/**
 * Fails (never skips) with the one command to run when the chroot is missing: a compatibility test
 * that silently did not run would prove nothing.
 */
export function requireValkeyChroot(): void {
  if (!existsSync(join(VALKEY_CHROOT, 'usr', 'bin', 'valkey-server'))) {
    throw new Error(
      `These tests run valkey-server 8.1 from a Debian trixie chroot at ${VALKEY_CHROOT}, which is missing. ` +
        'Run `bash .ci/prepare-machine` (npm test runs it first): it makes it with debootstrap (once).',
    );
  }
}

export interface ValkeyStartOptions {
  /** An RDB file to load at start: copied into the data directory as its dbfilename. @default none (empty) */
  readonly rdbFile?: string;
  /** More valkey-server options (`--maxmemory`, `100mb`...). */
  readonly args?: readonly string[];
}

/**
 * A real valkey-server 8.1 from the trixie chroot (`chroot <dir> valkey-server ...`; as a user
 * other than root, `unshare --map-root-user` first), on a free loopback port, with its data
 * directory in a temp dir under the chroot's /tmp. No password, persistence off (it never writes
 * over the RDB it loaded), `DEBUG` allowed from loopback. chroot and unshare exec, so the spawned
 * PID is valkey-server itself: `stop()` and `cleanup()` signal it directly.
 */
export class ValkeyProcess {
  static async start(options: ValkeyStartOptions = {}): Promise<ValkeyProcess> {
    requireValkeyChroot();
    const port = await freePort();
    const dataDir = mkdtempSync(join(VALKEY_CHROOT, 'tmp', 'valkey-test-'));
    if (options.rdbFile !== undefined) copyFileSync(options.rdbFile, join(dataDir, DBFILENAME));
    const server = [
      'chroot',
      VALKEY_CHROOT,
      'valkey-server',
      '--port',
      String(port),
      '--bind',
      '127.0.0.1',
      '--dir',
      `/tmp/${basename(dataDir)}`,
      '--dbfilename',
      DBFILENAME,
      '--appendonly',
      'no',
      '--save',
      '',
      '--daemonize',
      'no',
      '--logfile',
      '',
      '--enable-debug-command',
      'local',
      ...(options.args ?? []),
    ];
    // chroot needs CAP_SYS_CHROOT: as root directly, otherwise in a user namespace of our own.
    const command = process.getuid?.() === 0 ? server : ['unshare', '--map-root-user', ...server];
    const child = spawn(command[0] as string, command.slice(1), {
      cwd: '/',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const valkey = new ValkeyProcess(child, port, dataDir);
    try {
      await valkey.waitUntilReady();
    } catch (error) {
      await valkey.cleanup();
      throw error;
    }
    return valkey;
  }

  private output = '';
  private readonly exited: Promise<number | null>;
  private clients: Redis[] = [];

  private constructor(
    private readonly child: ChildProcess,
    readonly port: number,
    /** The data directory as this machine sees it (inside the chroot: /tmp/<its name>). */
    readonly dataDir: string,
  ) {
    const record = (chunk: Buffer) => {
      this.output += chunk.toString();
    };
    child.stdout?.on('data', record);
    child.stderr?.on('data', record);
    this.exited = new Promise((resolve) => {
      child.on('exit', (code) => resolve(code));
      child.on('error', (error) => {
        this.output += `\ncould not start ${child.spawnfile}: ${error.message}`;
        resolve(null);
      });
    });
  }

  get pid(): number {
    if (this.child.pid === undefined) throw new Error('valkey-server has no PID');
    return this.child.pid;
  }

  /** Everything valkey-server printed so far (its log). */
  get log(): string {
    return this.output;
  }

  get running(): boolean {
    return this.child.pid !== undefined && this.child.exitCode === null && this.child.signalCode === null;
  }

  /** A client of database `db`. Closed by stop() and cleanup(). */
  client(db = 0, extra: RedisOptions = {}): Redis {
    const client = new Redis({
      host: '127.0.0.1',
      port: this.port,
      db,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
      disableClientInfo: true,
      disconnectTimeout: 100,
      ...extra,
    });
    client.on('error', () => {});
    this.clients.push(client);
    return client;
  }

  private async waitUntilReady(timeoutMs = 20_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (!this.running) {
        const code = await this.exited;
        // unshare's own refusal (`unshare: write failed /proc/self/uid_map...`): .ci/prepare-machine
        // checks unprivileged user namespaces and names the setting that allows them.
        const hint = /^unshare: /m.test(this.output)
          ? '\n(no user namespace for chroot: run `bash .ci/prepare-machine`, which says what to change)'
          : '';
        throw new Error(`valkey-server exited (code ${code}) before it was ready:\n${this.output}${hint}`);
      }
      if (this.output.includes('Ready to accept connections')) return;
      await sleep(25);
    }
    throw new Error(`valkey-server not ready after ${timeoutMs} ms:\n${this.output}`);
  }

  /** Sends `signal` and waits for the exit code. */
  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> {
    this.disconnectClients();
    if (this.running) process.kill(this.pid, signal);
    return this.exited;
  }

  /** Stops valkey-server (SIGKILL, if still running) and removes its data directory. */
  async cleanup(): Promise<void> {
    await this.stop('SIGKILL');
    removeTempDir(this.dataDir);
  }

  private disconnectClients(): void {
    for (const client of this.clients) client.disconnect();
    this.clients = [];
  }
}
