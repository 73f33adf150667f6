import Redis from 'ioredis';
import { PASSWORDS } from '../../ops/local/redis-process';
import { makeTempDir, removeTempDir } from '../../ops/local/temp-dir';
import {
  buildImage,
  connect,
  docker,
  dockerOk,
  publishedPort,
  TestContainers,
  uniqueName,
  waitForHealth,
} from '../support/docker';
import { makeCertificates } from '../support/tls';

// The real image under Docker, as ECS runs it: read-only root, /data a volume, production env.
// Health checks every second here (the image's 30 s would make each test wait minutes); the
// command and its verdicts are the image's own.
const FAST_HEALTH = ['--health-interval', '1s', '--health-start-period', '0s', '--health-retries', '2'];

describe('the image under Docker', () => {
  const containers = new TestContainers();
  const run = containers.run.bind(containers);

  beforeAll(() => {
    buildImage();
  }, 600_000);
  afterAll(() => containers.removeAll());

  it('reaches healthy as 999:1000 on a read-only root, writing only to /data', async () => {
    const name = uniqueName('healthy');
    const volume = uniqueName('data');
    expect(run(name, volume, { REDIS_PASSWORD: PASSWORDS.default }, ['-d', ...FAST_HEALTH]).status).toBe(0);
    await waitForHealth(name, 'healthy');

    const status = dockerOk(['exec', name, 'cat', '/proc/1/status']);
    expect(status).toMatch(/^Uid:\s+999\s+999\s+999\s+999$/m);
    expect(status).toMatch(/^Gid:\s+1000\s+1000\s+1000\s+1000$/m);
    expect(dockerOk(['exec', name, 'cat', '/proc/1/comm'])).toBe('redis-server');
    const touched = docker(['exec', name, 'touch', '/usr/local/etc/redis/x']);
    expect(touched.stderr).toMatch(/Read-only file system/);
    expect(
      dockerOk(['exec', name, 'stat', '-c', '%u:%g %n', '/data/appendonlydir', '/data/.redis.lock']),
    ).toBe('999:1000 /data/appendonlydir\n999:1000 /data/.redis.lock');
    const client = await connect(publishedPort(name), PASSWORDS.default);
    try {
      expect(await client.set('k', 'v')).toBe('OK');
    } finally {
      client.disconnect();
    }
  });

  it("serves TLS only on a read-only root: its certificate and key in the image's /run/redis (0700, 0600), healthy through TLS", async () => {
    const dir = makeTempDir('image-tls');
    const certs = makeCertificates(dir, 'image');
    const name = uniqueName('tls');
    const started = run(
      name,
      uniqueName('data'),
      {
        REDIS_PASSWORD: PASSWORDS.default,
        REDIS_TLS: 'required',
        REDIS_TLS_CERT: certs.pem.cert,
        REDIS_TLS_KEY: certs.pem.key,
        REDIS_TLS_CA: certs.pem.ca,
      },
      ['-d', '-p', '127.0.0.1::6380', ...FAST_HEALTH],
    );
    expect(started.status).toBe(0);
    await waitForHealth(name, 'healthy');
    expect(dockerOk(['exec', name, 'stat', '-c', '%a %u:%g %n', '/run/redis', '/run/redis/server.key'])).toBe(
      '700 999:1000 /run/redis\n600 999:1000 /run/redis/server.key',
    );
    const port = Number(dockerOk(['port', name, '6380/tcp']).split(':').at(-1));
    const client = new Redis({
      host: '127.0.0.1',
      port,
      password: PASSWORDS.default,
      tls: { ca: certs.pem.ca, servername: 'localhost' },
      retryStrategy: () => null,
    });
    try {
      expect(await client.ping()).toBe('PONG');
    } finally {
      client.disconnect();
      removeTempDir(dir);
    }
  });

  it('turns unhealthy when Redis refuses writes (NOREPLICAS), and healthy again when it accepts them', async () => {
    const name = uniqueName('refuses');
    run(name, uniqueName('data'), { REDIS_PASSWORD: PASSWORDS.default }, ['-d', ...FAST_HEALTH]);
    await waitForHealth(name, 'healthy');
    const client = await connect(publishedPort(name), PASSWORDS.default);
    try {
      // Writes now need a replica Redis does not have: PING still answers, INCR does not.
      await client.config('SET', 'min-replicas-to-write', '1');
      expect(await client.ping()).toBe('PONG');
      await waitForHealth(name, 'unhealthy');
      const log = JSON.parse(dockerOk(['inspect', '--format', '{{json .State.Health.Log}}', name]));
      expect(log.at(-1).Output).toMatch(/unhealthy.*NOREPLICAS/s);
      await client.config('SET', 'min-replicas-to-write', '0');
      await waitForHealth(name, 'healthy');
    } finally {
      client.disconnect();
    }
  });

  it.each([
    ['production without a password', {}, /REDIS_PASSWORD is not set/],
    [
      'a bad REDIS_MAXMEMORY',
      { REDIS_PASSWORD: PASSWORDS.default, REDIS_MAXMEMORY: 'lots' },
      /REDIS_MAXMEMORY='lots' is not a Redis memory size/,
    ],
    [
      'a misspelled setting',
      { REDIS_PASSWORD: PASSWORDS.default, REDIS_MAXMEMORY_POLCY: 'noeviction' },
      /REDIS_MAXMEMORY_POLCY is not a setting of this image.*Did you mean REDIS_MAXMEMORY_POLICY\?/,
    ],
  ])('refuses %s: exit 64 with the message, Redis never starts', (_case, env, message) => {
    const name = uniqueName('refused');
    const result = run(name, uniqueName('data'), env as Record<string, string>);
    expect(result.status).toBe(64);
    expect(result.stderr).toMatch(message);
    expect(result.stderr).toMatch(/refusing to start Redis/);
    expect(result.stdout + result.stderr).not.toMatch(/Redis version=|Ready to accept/);
  });

  it('keeps the data across docker stop and a new container on the same volume', async () => {
    const volume = uniqueName('data');
    const first = uniqueName('first');
    run(first, volume, { REDIS_PASSWORD: PASSWORDS.default }, ['-d']);
    const writer = await connect(publishedPort(first), PASSWORDS.default);
    await writer.hset('session:1', { user: 'ada' });
    await writer.rpush('celery', 'task-1', 'task-2');
    writer.disconnect();
    dockerOk(['stop', first], { timeoutMs: 90_000 });
    expect(dockerOk(['inspect', '--format', '{{.State.ExitCode}}', first])).toBe('0');

    const second = uniqueName('second');
    run(second, volume, { REDIS_PASSWORD: PASSWORDS.default }, ['-d']);
    const reader = await connect(publishedPort(second), PASSWORDS.default);
    try {
      expect(await reader.hgetall('session:1')).toEqual({ user: 'ada' });
      expect(await reader.lrange('celery', 0, -1)).toEqual(['task-1', 'task-2']);
    } finally {
      reader.disconnect();
    }
  });
});
