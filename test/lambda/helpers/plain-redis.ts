import { type ChildProcess, spawn } from 'node:child_process';
import { copyFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import Redis from 'ioredis';
import { freePort } from '../../../ops/local/ports';
import { PASSWORDS, REDIS_CONF, sleep } from '../../../ops/local/redis-process';
import { makeTempDir, removeTempDir } from '../../../ops/local/temp-dir';

export interface PlainRedisOptions {
  /** Include the project's redis.conf first (then override). @default false */
  readonly projectConfig?: boolean;
  /** Extra config lines (`rdbchecksum no`, `appendonly no`...). */
  readonly config?: readonly string[];
  /** Create the `backup` and `monitor` users and protect the default user with PASSWORDS.default. @default false */
  readonly users?: boolean;
  /** Start on a copy of this RDB file (as dump.rdb in a new data dir; use with `appendonly no`). */
  readonly rdbFile?: string;
  /** Also listen with TLS on `tlsPort` (server certificate and key files, PEM). */
  readonly tls?: { readonly cert: string; readonly key: string };
}

/**
 * A redis-server started directly from a config file this helper writes: for what the project's
 * entrypoint cannot do (immutable settings such as rdbchecksum no; loading a dump.rdb with
 * appendonly off to check a backup). PID is redis-server itself.
 */
export class PlainRedis {
  static async start(options: PlainRedisOptions = {}): Promise<PlainRedis> {
    const port = await freePort();
    const tlsPort = options.tls ? await freePort() : 0;
    const dir = makeTempDir('plain-redis');
    if (options.rdbFile !== undefined) copyFileSync(options.rdbFile, join(dir, 'dump.rdb'));
    const lines = [
      ...(options.projectConfig ? [`include ${REDIS_CONF}`] : []),
      `port ${port}`,
      ...(options.tls
        ? [
            `tls-port ${tlsPort}`,
            `tls-cert-file ${options.tls.cert}`,
            `tls-key-file ${options.tls.key}`,
            'tls-auth-clients no',
          ]
        : []),
      'bind 127.0.0.1',
      `dir ${dir}`,
      'logfile ""',
      ...(options.users
        ? [
            `user default on >${PASSWORDS.default} ~* &* +@all`,
            `user backup reset on >${PASSWORDS.backup} +ping +info +replconf +sync +psync`,
            `user monitor reset on >${PASSWORDS.monitor} %R~* +ping +info +dbsize +select +slowlog|get +llen`,
          ]
        : []),
      ...(options.config ?? []),
    ];
    const confDir = makeTempDir('plain-redis-conf');
    const conf = join(confDir, 'redis.conf');
    writeFileSync(conf, `${lines.join('\n')}\n`, { mode: 0o600 });
    const child = spawn('redis-server', [conf], { stdio: ['ignore', 'pipe', 'pipe'] });
    const redis = new PlainRedis(
      child,
      port,
      tlsPort,
      dir,
      confDir,
      options.users ? PASSWORDS.default : undefined,
    );
    await redis.ready();
    return redis;
  }

  private output = '';
  private readonly exited: Promise<void>;
  private clients: Redis[] = [];

  private constructor(
    private readonly child: ChildProcess,
    readonly port: number,
    /** The TLS port (0 without `tls`). */
    readonly tlsPort: number,
    readonly dataDir: string,
    private readonly confDir: string,
    private readonly password: string | undefined,
  ) {
    const collect = (chunk: Buffer) => {
      this.output += chunk.toString();
    };
    child.stdout?.on('data', collect);
    child.stderr?.on('data', collect);
    this.exited = new Promise((resolve) => child.on('exit', () => resolve()));
  }

  get log(): string {
    return this.output;
  }

  get running(): boolean {
    return this.child.exitCode === null && this.child.signalCode === null;
  }

  /** A default-user client on `db`. Closed by cleanup(). */
  client(db = 0): Redis {
    const client = new Redis({
      host: '127.0.0.1',
      port: this.port,
      password: this.password,
      db,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
      disableClientInfo: true,
    });
    client.on('error', () => {});
    this.clients.push(client);
    return client;
  }

  private async ready(): Promise<void> {
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline) {
      if (!this.running) throw new Error(`redis-server exited before it was ready:\n${this.output}`);
      if (this.output.includes('Ready to accept connections')) return;
      await sleep(20);
    }
    await this.cleanup();
    throw new Error(`redis-server not ready after 10 s:\n${this.output}`);
  }

  async cleanup(): Promise<void> {
    for (const client of this.clients) client.disconnect();
    this.clients = [];
    if (this.running && this.child.pid !== undefined) process.kill(this.child.pid, 'SIGKILL');
    await this.exited;
    removeTempDir(this.confDir);
    removeTempDir(this.dataDir);
  }
}
