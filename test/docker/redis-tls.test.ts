import { execFile, spawn } from 'node:child_process';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { createConnection } from 'node:net';
import { join } from 'node:path';
import { connect } from 'node:tls';
import { promisify } from 'node:util';
import Redis from 'ioredis';
import { runBackup } from '../../lambda/backup';
import { freePort } from '../../ops/local/ports';
import { ENTRYPOINT, HEALTHCHECK, PASSWORDS, REDIS_CONF, RedisProcess } from '../../ops/local/redis-process';
import { S3Server } from '../../ops/local/s3-server';
import { makeTempDir } from '../../ops/local/temp-dir';
import { recorder } from '../lambda/helpers/backup-deps';
import { runOps, S3RVER_ENV } from '../support/ops-cli';
import { makeCertificates, type TestCertificates } from '../support/tls';

const run = promisify(execFile);

/** The entrypoint's TLS environment for a mode, with these certificates. */
function tlsEnv(mode: string, certs: TestCertificates, tlsPort: number, dir: string): Record<string, string> {
  return {
    REDIS_TLS: mode,
    REDIS_TLS_PORT: String(tlsPort),
    REDIS_TLS_CERT: certs.pem.cert,
    REDIS_TLS_KEY: certs.pem.key,
    REDIS_TLS_CA: certs.pem.ca,
    REDIS_RUNTIME_DIR: join(dir, 'tls'),
  };
}

/** PING as the default user over TLS, trusting `ca`: the reply, or the error's message. */
async function pingOverTls(port: number, ca: string): Promise<string> {
  const client = new Redis({
    host: '127.0.0.1',
    port,
    password: PASSWORDS.default,
    tls: { ca, servername: 'localhost' },
    retryStrategy: () => null,
    maxRetriesPerRequest: 0,
    lazyConnect: true,
  });
  client.on('error', () => {});
  try {
    await client.connect();
    return await client.ping();
  } catch (error) {
    return (error as Error).message;
  } finally {
    client.disconnect();
  }
}

/** A TLS handshake trusting `ca` for "localhost": 'ok', or the error's message. */
function handshake(port: number, ca: string): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port, ca, servername: 'localhost' }, () => {
      socket.end();
      resolve('ok');
    });
    socket.on('error', (error) => resolve(error.message));
  });
}

/** A plain TCP connection: 'connected', or the error's code. */
function tcpConnect(port: number): Promise<string> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port }, () => {
      socket.destroy();
      resolve('connected');
    });
    socket.on('error', (error: NodeJS.ErrnoException) => resolve(error.code ?? error.message));
  });
}

/** PING in plaintext: the reply, or the error's message. */
async function pingPlain(port: number): Promise<string> {
  const client = new Redis({
    host: '127.0.0.1',
    port,
    password: PASSWORDS.default,
    retryStrategy: () => null,
    maxRetriesPerRequest: 0,
    connectTimeout: 2_000,
    commandTimeout: 2_000,
    lazyConnect: true,
  });
  client.on('error', () => {});
  try {
    await client.connect();
    return await client.ping();
  } catch (error) {
    return (error as Error).message;
  } finally {
    client.disconnect();
  }
}

describe('Redis with TLS (the entrypoint, real redis-server processes)', () => {
  const dir = makeTempDir('redis-tls');
  const certs = makeCertificates(dir, 'stage');
  const otherCa = makeCertificates(dir, 'other');

  describe('required: TLS only', () => {
    let redis: RedisProcess;
    let tlsPort: number;
    beforeAll(async () => {
      tlsPort = await freePort();
      redis = await RedisProcess.start({
        env: tlsEnv('required', certs, tlsPort, makeTempDir('tls-required')),
      });
    });
    afterAll(() => redis.cleanup());

    it('serves a client that trusts the stage CA', async () => {
      expect(await pingOverTls(tlsPort, certs.pem.ca)).toBe('PONG');
    });

    it('refuses plaintext: no plaintext port, and plaintext on the TLS port gets nothing', async () => {
      expect(await tcpConnect(redis.port)).toBe('ECONNREFUSED');
      expect(await pingPlain(tlsPort)).not.toBe('PONG');
    });

    it('is refused by a client that does not trust its CA (the client verifies the server)', async () => {
      expect(await handshake(tlsPort, certs.pem.ca)).toBe('ok');
      expect(await handshake(tlsPort, otherCa.pem.ca)).toMatch(/self.signed certificate|unable to verify/i);
    });

    it('keeps the key out of the environment of redis-server (the entrypoint execs it: same PID)', () => {
      const environ = readFileSync(`/proc/${redis.pid}/environ`, 'utf8');
      expect(readFileSync(`/proc/${redis.pid}/comm`, 'utf8').trim()).toBe('redis-server');
      expect(environ).not.toContain('PRIVATE KEY');
      expect(environ).not.toMatch(/REDIS_TLS_(KEY|CERT|CA)=/);
    });

    it('health check: healthy through TLS; unhealthy when it cannot verify the certificate', async () => {
      const env = {
        ...process.env,
        REDIS_PASSWORD: PASSWORDS.default,
        REDIS_TLS: 'required',
        REDIS_TLS_PORT: String(tlsPort),
      };
      const tlsDir = join(dir, 'health');
      await run('mkdir', ['-p', tlsDir]);
      writeFileSync(join(tlsDir, 'ca.crt'), certs.pem.ca);
      const healthy = await run('sh', [HEALTHCHECK], { env: { ...env, REDIS_RUNTIME_DIR: tlsDir } });
      expect(healthy.stdout).toMatch(/^healthy: ping=\d+/);
      const wrongDir = join(dir, 'health-wrong');
      await run('mkdir', ['-p', wrongDir]);
      writeFileSync(join(wrongDir, 'ca.crt'), otherCa.pem.ca);
      await expect(
        run('sh', [HEALTHCHECK], { env: { ...env, REDIS_RUNTIME_DIR: wrongDir } }),
      ).rejects.toMatchObject({
        code: 1,
        stdout: expect.stringMatching(/^unhealthy/),
      });
    });

    it('the backup streams and verifies a snapshot over TLS, as the backup user', async () => {
      const s3 = await S3Server.start();
      try {
        const writer = new Redis({
          host: '127.0.0.1',
          port: tlsPort,
          password: PASSWORDS.default,
          tls: { ca: certs.pem.ca, servername: 'localhost' },
        });
        await writer.mset('k1', 'v1', 'k2', 'v2');
        const keys = await writer.dbsize();
        writer.disconnect();
        const result = await runBackup({
          redis: {
            host: '127.0.0.1',
            port: tlsPort,
            username: 'backup',
            password: PASSWORDS.backup,
            tls: { ca: certs.pem.ca, servername: 'localhost' },
          },
          s3: s3.client,
          bucket: s3.bucket,
          prefix: 'snapshots',
          stage: 'tls',
          logger: recorder().logger,
        });
        expect(result).toMatchObject({ checksum: 'verified', keys });
      } finally {
        await s3.cleanup();
      }
    });

    it('ops backup and ops metrics speak TLS: rediss:// with --ca-file, refused without the CA', async () => {
      const s3 = await S3Server.start();
      try {
        const backup = await runOps(
          [
            'backup',
            '--redis-url',
            `rediss://backup@localhost:${tlsPort}`,
            '--ca-file',
            certs.ca,
            '--bucket',
            s3.bucket,
            '--endpoint-url',
            s3.endpoint,
          ],
          { ...S3RVER_ENV, REDISCLI_AUTH: PASSWORDS.backup },
        );
        expect(backup.stderr).toBe('');
        expect(JSON.parse(backup.stdout)).toMatchObject({ checksum: 'verified' });
        const metrics = await runOps(
          ['metrics', '--redis-url', `rediss://monitor@localhost:${tlsPort}`, '--ca-file', certs.ca],
          {
            REDISCLI_AUTH: PASSWORDS.monitor,
          },
        );
        expect(metrics.code).toBe(0);
        expect(metrics.stdout).toMatch(
          new RegExp(`^Redis 7\\.\\S+ at monitor@localhost:${tlsPort} \\(tls\\)`),
        );
        const untrusted = await runOps(
          ['metrics', '--redis-url', `rediss://monitor@localhost:${tlsPort}`, '--ca-file', otherCa.ca],
          { REDISCLI_AUTH: PASSWORDS.monitor },
        );
        expect(untrusted.code).toBe(1);
        expect(untrusted.stderr).toMatch(/self.signed certificate|unable to verify/);
      } finally {
        await s3.cleanup();
      }
    });

    it('Celery (Debian python3-celery) round-trips a task over rediss:// with certificate verification', async () => {
      const app = makeTempDir('celery-tls');
      writeFileSync(
        join(app, 'tasks.py'),
        [
          'import os',
          'from celery import Celery',
          "url = os.environ['CELERY_BROKER_URL']",
          "app = Celery('tasks', broker=url, backend=url)",
          'app.conf.broker_connection_retry_on_startup = True',
          '@app.task',
          'def add(x, y):',
          '    return x + y',
          '',
        ].join('\n'),
      );
      writeFileSync(
        join(app, 'call.py'),
        ['from tasks import add', 'print(add.delay(2, 3).get(timeout=30))', ''].join('\n'),
      );
      const url = `rediss://:${PASSWORDS.default}@localhost:${tlsPort}/0?ssl_cert_reqs=required&ssl_ca_certs=${certs.ca}`;
      const env = { ...process.env, CELERY_BROKER_URL: url, PYTHONPATH: app };
      const worker = spawn(
        '/usr/bin/python3',
        ['-m', 'celery', '-A', 'tasks', 'worker', '--pool', 'solo', '--loglevel', 'WARNING'],
        {
          cwd: app,
          env,
          stdio: ['ignore', 'ignore', 'pipe'],
        },
      );
      let workerLog = '';
      worker.stderr.on('data', (chunk: Buffer) => {
        workerLog += chunk.toString();
      });
      try {
        const { stdout } = await run('/usr/bin/python3', ['call.py'], { cwd: app, env, timeout: 45_000 });
        expect(stdout.trim()).toBe('5');
      } catch (error) {
        throw new Error(`${(error as Error).message}\nworker:\n${workerLog}`);
      } finally {
        worker.kill('SIGKILL');
      }
      // The same Celery, with verification on, refuses a server its CA file does not vouch for.
      const untrusted = url.replace(certs.ca, otherCa.ca);
      await expect(
        run(
          '/usr/bin/python3',
          ['-c', 'import redis,sys; redis.Redis.from_url(sys.argv[1]).ping()', untrusted],
          { timeout: 20_000 },
        ),
      ).rejects.toMatchObject({ stderr: expect.stringMatching(/CERTIFICATE_VERIFY_FAILED/) });
    }, 90_000);
  });

  describe('transitional: plaintext and TLS, for consumers to move one by one', () => {
    it('serves both ports', async () => {
      const tlsPort = await freePort();
      const redis = await RedisProcess.start({
        env: tlsEnv('transitional', certs, tlsPort, makeTempDir('tls-transitional')),
      });
      try {
        expect(await pingPlain(redis.port)).toBe('PONG');
        expect(await pingOverTls(tlsPort, certs.pem.ca)).toBe('PONG');
        expect(redis.log).toContain(`port ${redis.port} and TLS port ${tlsPort}`);
      } finally {
        await redis.cleanup();
      }
    });
  });

  describe('refusals: bad TLS settings never start a Redis', () => {
    async function entrypoint(env: Record<string, string>): Promise<{ code: number; stderr: string }> {
      const dataDir = makeTempDir('tls-refusal');
      try {
        await run('sh', [ENTRYPOINT], {
          env: {
            PATH: process.env.PATH ?? '',
            REDIS_PASSWORD: PASSWORDS.default,
            REDIS_CONF,
            REDIS_DATA_DIR: dataDir,
            REDIS_RUNTIME_DIR: `${dataDir}/.runtime`,
            REDIS_PORT: String(await freePort()),
            ...env,
          },
          timeout: 10_000,
        });
        return { code: 0, stderr: '' };
      } catch (error) {
        const failure = error as { code: number; stderr: string };
        return { code: failure.code, stderr: failure.stderr };
      }
    }

    it.each([
      [
        { REDIS_TLS: 'on' },
        /REDIS_TLS='on' is not allowed\. Allowed: off, transitional \(plaintext and TLS\), required \(TLS only\)/,
      ],
      [
        { REDIS_TLS: 'required' },
        /REDIS_TLS_CERT is not set; REDIS_TLS=required needs the server certificate/,
      ],
      [
        { REDIS_TLS: 'required', REDIS_TLS_CERT: 'x', REDIS_TLS_KEY: 'x', REDIS_TLS_CA: 'x' },
        /REDIS_TLS_CERT is not a PEM CERTIFICATE/,
      ],
      [{ REDIS_TLS: 'required', REDIS_TLS_PORT: '70000' }, /REDIS_TLS_PORT='70000' is out of range/],
      [
        { REDIS_TLS: 'required', REDIS_RUNTIME_DIR: 'relative' },
        /REDIS_RUNTIME_DIR='relative' is not an absolute path/,
      ],
      [{ REDIS_TLS_PORTT: '6380' }, /REDIS_TLS_PORTT.*REDIS_TLS_PORT/],
    ])('%j: exit 64 with what is wrong and what is allowed', async (env, message) => {
      const result = await entrypoint(env as Record<string, string>);
      expect(result.code).toBe(64);
      expect(result.stderr).toMatch(message);
    });

    it('never echoes a private key it refuses', async () => {
      const notAKey = 'SECRETKEYMATERIAL-0123456789';
      const result = await entrypoint({
        REDIS_TLS: 'required',
        REDIS_TLS_CERT: certs.pem.cert,
        REDIS_TLS_KEY: notAKey,
        REDIS_TLS_CA: certs.pem.ca,
      });
      expect(result.code).toBe(64);
      expect(result.stderr).toMatch(/REDIS_TLS_KEY is not a PEM PRIVATE KEY/);
      expect(result.stderr).not.toContain(notAKey);
    });

    it('transitional on one port for both is refused', async () => {
      const result = await entrypoint({
        ...tlsEnv('transitional', certs, 6390, makeTempDir('tls-same')),
        REDIS_PORT: '6390',
      });
      expect(result.code).toBe(64);
      expect(result.stderr).toMatch(/they must differ \(both are 6390\)/);
    });
  });

  it('writes the key with mode 0600 in a 0700 directory', async () => {
    const tlsPort = await freePort();
    const home = makeTempDir('tls-mode');
    const redis = await RedisProcess.start({ env: tlsEnv('required', certs, tlsPort, home) });
    try {
      expect(statSync(join(home, 'tls', 'server.key')).mode & 0o777).toBe(0o600);
      expect(statSync(join(home, 'tls')).mode & 0o777).toBe(0o700);
    } finally {
      await redis.cleanup();
    }
  });

  it('npm run redis:local -- --tls makes a development CA and says where the CA file is', async () => {
    const dataDir = makeTempDir('redis-local-tls');
    const tlsPort = await freePort();
    const redis = await RedisProcess.start({ dataDir, extraArgs: ['--tls', '--tls-port', String(tlsPort)] });
    try {
      const caFile = join(dataDir, 'tls', 'ca.crt');
      expect(redis.log).toContain(`clients trust the CA file ${caFile}`);
      expect(await pingOverTls(tlsPort, readFileSync(caFile, 'utf8'))).toBe('PONG');
      expect(await tcpConnect(redis.port)).toBe('ECONNREFUSED');
      // the chain verifies for "localhost"
      await new Promise<void>((resolve, reject) => {
        const socket = connect(
          { host: '127.0.0.1', port: tlsPort, ca: readFileSync(caFile), servername: 'localhost' },
          () => {
            socket.end();
            resolve();
          },
        );
        socket.on('error', reject);
      });
    } finally {
      await redis.cleanup();
    }
  });
});
