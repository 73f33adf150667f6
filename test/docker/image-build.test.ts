import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from '../../ops/local/redis-process';
import {
  buildImage,
  debianPackages,
  dockerOk,
  requireDocker,
  TEST_BASE_IMAGE,
  TEST_IMAGE,
} from '../support/docker';

// The engine we ship is the engine we test: the image holds Debian's security-patched Redis, at
// exactly the package version of the redis-server every other test runs.
const dockerfile = readFileSync(join(REPO_ROOT, 'docker/redis/Dockerfile'), 'utf8');
const pinnedRedis = /^ARG REDIS_DEBIAN_VERSION=(\S+)$/m.exec(dockerfile)?.[1];
const localRedis = debianPackages().get('redis-server');

function inImage(command: string): string {
  return dockerOk(['run', '--rm', '--entrypoint', 'sh', TEST_IMAGE, '-c', command]);
}

describe('docker/redis/Dockerfile', () => {
  it('builds FROM a bookworm-slim base pinned by digest, overridable with BASE_IMAGE', () => {
    expect(dockerfile).toMatch(/^ARG BASE_IMAGE\n/m);
    expect(dockerfile).toMatch(/^FROM \$\{BASE_IMAGE:-debian:bookworm-slim@sha256:[0-9a-f]{64}\}$/m);
    expect(dockerfile).not.toMatch(/^FROM redis:/m);
  });

  it("pins redis-server and redis-tools to the tests' redis-server package version", () => {
    expect(pinnedRedis).toBe(localRedis);
    expect(dockerfile).toMatch(
      /"redis-server=\$\{REDIS_DEBIAN_VERSION\}" "redis-tools=\$\{REDIS_DEBIAN_VERSION\}"/,
    );
  });
});

describe('without a Docker engine', () => {
  it('the image tests fail, never skip, and say the one command to run', () => {
    expect(() => requireDocker({ ...process.env, DOCKER_HOST: 'unix:///nonexistent/docker.sock' })).toThrow(
      /need a Docker engine, but none answers \(DOCKER_HOST=unix:\/\/\/nonexistent\/docker\.sock: .*\)\. Run `bash \.ci\/prepare-machine`/s,
    );
  });
});

describe('the built image', () => {
  beforeAll(() => {
    buildImage();
  }, 600_000);

  it('runs the pinned Debian package, the same binary version the tests run', () => {
    const inside = debianPackages(TEST_IMAGE);
    expect([inside.get('redis-server'), inside.get('redis-tools')]).toEqual([localRedis, localRedis]);
    const local = execFileSync('redis-server', ['--version'], { encoding: 'utf8' }).trim();
    expect(inImage('redis-server --version')).toBe(local);
  });

  it('adds nothing to the base but Redis, its tools and their libraries', () => {
    const base = debianPackages(TEST_BASE_IMAGE);
    const added = [...debianPackages(TEST_IMAGE).keys()].filter((name) => !base.has(name)).sort();
    expect(added).toEqual([
      'libatomic1',
      'libjemalloc2',
      'liblzf1',
      'libssl3',
      'redis-server',
      'redis-tools',
    ]);
  });

  it('runs as redis, uid 999 / gid 1000 (the EFS access point owner), with dash as /bin/sh', () => {
    expect(inImage('id -u; id -g; id -un; readlink -f /bin/sh; stat -c %u:%g /data')).toBe(
      ['999', '1000', 'redis', '/usr/bin/dash', '999:1000'].join('\n'),
    );
  });

  it("keeps the spec's health check timings and our entrypoint, user, ports (6379, 6380 TLS) and volumes (/data, /run/redis)", () => {
    const config = JSON.parse(dockerOk(['image', 'inspect', '--format', '{{json .Config}}', TEST_IMAGE]));
    expect(config.Healthcheck).toEqual({
      Test: ['CMD', '/usr/local/bin/redis-healthcheck'],
      Interval: 30e9,
      Timeout: 10e9,
      StartPeriod: 5e9,
      Retries: 3,
    });
    expect(config.Entrypoint).toEqual(['/usr/local/bin/redis-entrypoint']);
    expect(config.User).toBe('redis:redis');
    expect(Object.keys(config.ExposedPorts)).toEqual(['6379/tcp', '6380/tcp']);
    expect(Object.keys(config.Volumes)).toEqual(['/data', '/run/redis']);
    expect(config.StopSignal).toBe('SIGTERM');
  });
});
