import { execFileSync, spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from '../support/redis-process';

// What can be checked of the image without a Docker engine: the Dockerfile's pins and timings,
// the compose file (validated by docker-compose itself) and every shell script (shellcheck).
const dockerfile = readFileSync(join(REPO_ROOT, 'docker/redis/Dockerfile'), 'utf8');

describe('docker/redis/Dockerfile', () => {
  it('pins an exact redis 7.0 alpine release (RDB format 10, what the tests run)', () => {
    expect(dockerfile).toMatch(/^FROM redis:7\.0\.\d+-alpine$/m);
    const local = execFileSync('redis-server', ['--version'], { encoding: 'utf8' });
    const pinned = /^FROM redis:(7\.0\.\d+)-alpine$/m.exec(dockerfile)?.[1];
    expect(local).toContain(`v=${pinned}`);
  });

  it("runs as the image's redis user, with our entrypoint, not the official chown entrypoint", () => {
    expect(dockerfile).toMatch(/^USER redis:redis$/m);
    expect(dockerfile).toMatch(/^ENTRYPOINT \["\/usr\/local\/bin\/redis-entrypoint"\]$/m);
    expect(dockerfile).toMatch(/^EXPOSE 6379$/m);
    expect(dockerfile).toMatch(/^VOLUME \/data$/m);
  });

  it("has the spec's health check timings: 30 s interval, 10 s timeout, 5 s start, 3 retries", () => {
    expect(dockerfile).toMatch(
      /HEALTHCHECK --interval=30s --timeout=10s --start-period=5s --retries=3 \\\n\s+CMD \["\/usr\/local\/bin\/redis-healthcheck"\]/,
    );
  });
});

describe('docker/docker-compose.yml', () => {
  it('validates with docker-compose and mirrors the spec', () => {
    const result = spawnSync(
      'docker-compose',
      ['-f', join(REPO_ROOT, 'docker/docker-compose.yml'), 'config'],
      {
        encoding: 'utf8',
        env: { PATH: process.env.PATH },
      },
    );
    expect(result.stderr).not.toMatch(/ERROR/);
    expect(result.status).toBe(0);
    const config = result.stdout;
    expect(config).toMatch(/^ {2}redis:$/m);
    expect(config).toMatch(/- redis-data:\/data/);
    expect(config).toMatch(/REDIS_PASSWORD: redis_development_password/);
    expect(config).toMatch(/REDIS_MAXMEMORY: 512mb/);
    expect(config).toMatch(/REDIS_MAXMEMORY_POLICY: allkeys-lru/);
    expect(config).toMatch(/cpus: 0\.5/);
    expect(config).toMatch(/mem_limit: 1g/);
    expect(config).toMatch(/interval: 30s[\s\S]*retries: 3[\s\S]*start_period: 5s[\s\S]*timeout: 10s/);
  });
});

describe('shell scripts', () => {
  const scripts = [
    ...readdirSync(join(REPO_ROOT, 'docker/redis'))
      .filter((file) => file.endsWith('.sh'))
      .map((file) => join(REPO_ROOT, 'docker/redis', file)),
    join(REPO_ROOT, '.ci/run'),
  ];

  it.each(scripts)('%s passes shellcheck', (script) => {
    const result = spawnSync('shellcheck', [script], { encoding: 'utf8' });
    expect(result.stdout).toBe('');
    expect(result.status).toBe(0);
  });
});
