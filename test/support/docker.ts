import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import Redis from 'ioredis';
import { REPO_ROOT, sleep } from '../../ops/local/redis-process';

/**
 * The Docker engine the tests use, chosen as `.ci/prepare-machine` chooses it: $DOCKER_HOST, else
 * the engine that script starts (its socket under /var/tmp/redis-on-ecs-docker), else Docker's
 * default socket.
 */
const OUR_ENGINE = join(process.env.REDIS_ECS_DOCKER_DIR ?? '/var/tmp/redis-on-ecs-docker', 'docker.sock');
export const DOCKER_ENV: NodeJS.ProcessEnv = {
  ...process.env,
  ...(!process.env.DOCKER_HOST && existsSync(OUR_ENGINE) && { DOCKER_HOST: `unix://${OUR_ENGINE}` }),
};

/** The local bookworm base that `.ci/prepare-machine` pulls or makes (no registry here). */
export const TEST_BASE_IMAGE = 'redis-on-ecs/bookworm-base:local';
/** The image built from docker/redis by these tests. */
export const TEST_IMAGE = 'redis-on-ecs/redis:test';

export interface DockerResult {
  readonly status: number | null;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs the docker CLI; never throws on a non-zero exit (callers assert on it). */
export function docker(
  args: readonly string[],
  options: { timeoutMs?: number; input?: string; env?: NodeJS.ProcessEnv } = {},
): DockerResult {
  const result = spawnSync('docker', args, {
    env: options.env ?? DOCKER_ENV,
    encoding: 'utf8',
    timeout: options.timeoutMs ?? 120_000,
    input: options.input,
  });
  return { status: result.status, stdout: result.stdout ?? '', stderr: result.stderr ?? '' };
}

/** Like docker(), but throws with the CLI's output when the command fails. */
export function dockerOk(args: readonly string[], options: { timeoutMs?: number } = {}): string {
  const result = docker(args, options);
  if (result.status !== 0) {
    throw new Error(
      `docker ${args.join(' ')} failed (exit ${result.status}):\n${result.stderr}${result.stdout}`,
    );
  }
  return result.stdout.trim();
}

/**
 * Fails (never skips) with the one command to run when no Docker engine answers or the base image
 * is missing: a test of the real image that silently did not run would prove nothing.
 */
export function requireDocker(env: NodeJS.ProcessEnv = DOCKER_ENV): void {
  const info = docker(['info', '--format', '{{.ServerVersion}}'], { timeoutMs: 15_000, env });
  if (info.status !== 0) {
    throw new Error(
      `These tests build and run the real image and need a Docker engine, but none answers ` +
        `(DOCKER_HOST=${env.DOCKER_HOST ?? 'unset'}: ${info.stderr.trim()}). ` +
        'Run `bash .ci/prepare-machine` (npm test runs it first): it installs and starts one.',
    );
  }
  if (docker(['image', 'inspect', TEST_BASE_IMAGE], { env }).status !== 0) {
    throw new Error(
      `The base image ${TEST_BASE_IMAGE} is missing. Run \`bash .ci/prepare-machine\` (npm test runs it first): it pulls or makes it.`,
    );
  }
}

/** Builds docker/redis on the local base (cached by Docker after the first build). */
export function buildImage(): void {
  requireDocker();
  const args = ['build', '-q', '--build-arg', `BASE_IMAGE=${TEST_BASE_IMAGE}`, '-t', TEST_IMAGE];
  dockerOk([...args, join(REPO_ROOT, 'docker', 'redis')], { timeoutMs: 600_000 });
}

/** A unique name for containers and volumes made by one test, so parallel runs never collide. */
export function uniqueName(prefix: string): string {
  return `redis-on-ecs-test-${prefix}-${process.pid}-${Math.random().toString(36).slice(2, 8)}`;
}

/** The health status Docker reports for a container (`starting`, `healthy`, `unhealthy`). */
export function healthOf(container: string): string {
  return dockerOk(['inspect', '--format', '{{.State.Health.Status}}', container]);
}

/** Waits until the container's health is `status`; throws with its log when it never gets there. */
export async function waitForHealth(container: string, status: 'healthy' | 'unhealthy', timeoutMs = 30_000) {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    last = healthOf(container);
    if (last === status) return;
    await sleep(250);
  }
  const logs = docker(['logs', container]);
  throw new Error(
    `${container} is ${last}, not ${status}, after ${timeoutMs} ms:\n${logs.stdout}${logs.stderr}`,
  );
}

/** The 127.0.0.1 port Docker published for the container's 6379. */
export function publishedPort(container: string): number {
  const mapping = dockerOk(['port', container, '6379/tcp']);
  const port = Number(/127\.0\.0\.1:(\d+)/.exec(mapping)?.[1]);
  if (!Number.isInteger(port)) throw new Error(`no 127.0.0.1 port for ${container}: ${mapping}`);
  return port;
}

/** A client of a container's Redis, through its published port; waits until Redis answers. */
export async function connect(port: number, password: string): Promise<Redis> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const client = new Redis({
      host: '127.0.0.1',
      port,
      password,
      maxRetriesPerRequest: 0,
      retryStrategy: () => null,
      lazyConnect: true,
      disableClientInfo: true,
    });
    client.on('error', () => {});
    try {
      await client.connect();
      await client.ping();
      return client;
    } catch (error) {
      client.disconnect();
      if (Date.now() > deadline) throw error;
      await sleep(200);
    }
  }
}

/** Removes containers and volumes, ignoring the ones already gone. */
export function removeAll(containers: readonly string[], volumes: readonly string[] = []): void {
  if (containers.length > 0) docker(['rm', '-f', '-v', ...containers]);
  if (volumes.length > 0) docker(['volume', 'rm', '-f', ...volumes]);
}

// biome-ignore lint/suspicious/noTemplateCurlyInString: dpkg-query's own format syntax
const DPKG_FORMAT = '${Package} ${Version}\n';

/** `name version` of each installed Debian package, in the image given or on this machine. */
export function debianPackages(image?: string): Map<string, string> {
  const args = ['-W', '-f', DPKG_FORMAT];
  const output = image
    ? dockerOk(['run', '--rm', '--entrypoint', 'dpkg-query', image, ...args])
    : execFileSync('dpkg-query', args, { encoding: 'utf8' });
  return new Map(
    output
      .trim()
      .split('\n')
      .map((line) => line.split(' ') as [string, string]),
  );
}

/**
 * The containers and volumes one test file starts from the test image, as ECS runs it (read-only
 * root, the volume at /data, 6379 published on a loopback port); `removeAll()` in afterAll.
 */
export class TestContainers {
  private readonly containers: string[] = [];
  private readonly volumes = new Set<string>();

  /** `docker run` of the test image; `extra` goes before the image (e.g. `-d`, health options). */
  run(
    name: string,
    volume: string,
    env: Record<string, string>,
    extra: readonly string[] = [],
  ): DockerResult {
    this.containers.push(name);
    this.volumes.add(volume);
    const envArgs = Object.entries(env).flatMap(([key, value]) => ['-e', `${key}=${value}`]);
    const args = ['run', '--name', name, '--read-only', '-v', `${volume}:/data`, '-p', '127.0.0.1::6379'];
    return docker([...args, ...envArgs, ...extra, TEST_IMAGE], { timeoutMs: 60_000 });
  }

  /** Like run() with `-d`, throwing when Docker refuses. */
  start(name: string, volume: string, env: Record<string, string>): void {
    const result = this.run(name, volume, env, ['-d']);
    if (result.status !== 0) throw new Error(`docker run ${name} failed: ${result.stderr}`);
  }

  removeAll(): void {
    removeAll(this.containers, [...this.volumes]);
  }
}
