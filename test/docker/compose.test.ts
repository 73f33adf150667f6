import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { freePort } from '../../ops/local/ports';
import { REPO_ROOT } from '../../ops/local/redis-process';
import { makeTempDir, removeTempDir } from '../../ops/local/temp-dir';
import {
  connect,
  DOCKER_ENV,
  requireDocker,
  TEST_BASE_IMAGE,
  uniqueName,
  waitForHealth,
} from '../support/docker';

const COMPOSE_FILE = join(REPO_ROOT, 'docker/docker-compose.yml');

function compose(args: string[], env: Record<string, string> = {}, files: string[] = [COMPOSE_FILE]) {
  const result = spawnSync('docker-compose', [...files.flatMap((file) => ['-f', file]), ...args], {
    encoding: 'utf8',
    env: { ...DOCKER_ENV, ...env },
    timeout: 300_000,
  });
  return { status: result.status, stdout: result.stdout ?? '', stderr: result.stderr ?? '' };
}

describe('docker/docker-compose.yml', () => {
  it('validates with docker-compose and mirrors the spec', () => {
    const result = compose(['config'], { REDIS_HOST_PORT: '', BASE_IMAGE: '' });
    expect(result.stderr).not.toMatch(/ERROR/);
    expect(result.status).toBe(0);
    const config = result.stdout;
    expect(config).toMatch(/^ {2}redis:$/m);
    expect(config).toMatch(/- redis-data:\/data/);
    expect(config).toMatch(/127\.0\.0\.1:6379:6379/);
    expect(config).toMatch(/REDIS_PASSWORD: redis_development_password/);
    expect(config).toMatch(/REDIS_MAXMEMORY: 512mb/);
    expect(config).toMatch(/REDIS_MAXMEMORY_POLICY: allkeys-lru/);
    expect(config).toMatch(/cpus: 0\.5/);
    expect(config).toMatch(/mem_limit: 1g/);
    expect(config).toMatch(/read_only: true/);
    expect(config).toMatch(/interval: 30s[\s\S]*retries: 3[\s\S]*start_period: 5s[\s\S]*timeout: 10s/);
  });

  describe('up', () => {
    const project = uniqueName('compose').replace(/-/g, '');
    const container = `${project}-redis`;
    let dir: string;
    let override: string;
    let port: number;

    beforeAll(async () => {
      requireDocker();
      dir = makeTempDir('compose');
      port = await freePort();
      // Only what a test must change: its own container name, and checks every second instead of
      // every 30 s. Image, build, environment, volume and limits are the file's own.
      override = join(dir, 'test-override.yml');
      writeFileSync(
        override,
        [
          'version: "2.4"',
          'services:',
          '  redis:',
          `    image: ${project}-redis:latest`,
          `    container_name: ${container}`,
          '    healthcheck:',
          '      interval: 1s',
          '      start_period: 0s',
        ].join('\n'),
      );
    }, 600_000);

    afterAll(() => {
      compose(['-p', project, 'down', '-v', '--rmi', 'all'], {}, [COMPOSE_FILE, override]);
      removeTempDir(dir);
    });

    it('builds the image, comes up healthy and serves a client on loopback', async () => {
      const env = { BASE_IMAGE: TEST_BASE_IMAGE, REDIS_HOST_PORT: String(port) };
      const up = compose(['-p', project, 'up', '-d', '--build', 'redis'], env, [COMPOSE_FILE, override]);
      expect(up.stderr).not.toMatch(/ERROR/);
      expect(up.status).toBe(0);
      await waitForHealth(container, 'healthy');
      const client = await connect(port, 'redis_development_password');
      try {
        await client.rpush('celery', 'task-1');
        expect(await client.lpop('celery')).toBe('task-1');
      } finally {
        client.disconnect();
      }
    });
  });
});
