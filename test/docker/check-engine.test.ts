import { execFileSync, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { REPO_ROOT } from '../../ops/local/redis-process';
import { makeTempDir, removeTempDir } from '../../ops/local/temp-dir';
import { debianPackages } from '../support/docker';

// `npm run check:engine` against a local mirror signed with a test key: a real gpgv, a real index.
const SCRIPT = join(REPO_ROOT, 'docker/check-engine.sh');
const dockerfile = readFileSync(join(REPO_ROOT, 'docker/redis/Dockerfile'), 'utf8');
const localVersion = debianPackages().get('redis-server') ?? 'none';
const pinLine = dockerfile.split('\n').findIndex((line) => line.startsWith('ARG REDIS_DEBIAN_VERSION=')) + 1;

describe('npm run check:engine', () => {
  let dir: string;
  let server: Server;
  let mirror: string;
  let keyring: string;
  let strangerKeyring: string;

  function gpg(home: string, args: string[], input?: string): Buffer {
    return execFileSync(
      'gpg',
      ['--homedir', home, '--batch', '--quiet', '--pinentry-mode', 'loopback', '--passphrase', '', ...args],
      { input },
    );
  }
  function makeKey(name: string): { home: string; keyring: string } {
    const home = join(dir, name);
    mkdirSync(home, { mode: 0o700 });
    gpg(home, ['--quick-gen-key', `${name} <${name}@example.invalid>`, 'ed25519', 'sign', 'never']);
    const file = join(dir, `${name}.gpg`);
    writeFileSync(file, gpg(home, ['--export']));
    return { home, keyring: file };
  }

  /** Publishes a bookworm-security index offering `version` of redis-server, signed by `signer`. */
  function publish(version: string, options: { tamper?: boolean; validUntil?: Date } = {}) {
    const suite = join(dir, 'www', 'dists', 'bookworm-security');
    mkdirSync(join(suite, 'main', 'binary-amd64'), { recursive: true });
    const packages = `Package: redis-tools\nVersion: ${version}\n\nPackage: redis-server\nVersion: ${version}\n\n`;
    const xz = execFileSync('xz', ['-c'], { input: packages });
    const validUntil = (options.validUntil ?? new Date(Date.now() + 7 * 86_400_000)).toUTCString();
    const release = `Suite: bookworm-security\nValid-Until: ${validUntil}\nSHA256:\n ${createHash('sha256').update(xz).digest('hex')} ${xz.length} main/binary-amd64/Packages.xz\n`;
    writeFileSync(
      join(suite, 'main', 'binary-amd64', 'Packages.xz'),
      options.tamper ? Buffer.concat([xz, Buffer.from('x')]) : xz,
    );
    writeFileSync(join(suite, 'InRelease'), gpg(join(dir, 'archive'), ['--clearsign'], release));
  }

  function check(env: Record<string, string> = {}): Promise<{ status: number | null; output: string }> {
    return new Promise((resolve) => {
      const child = spawn('bash', [SCRIPT], {
        env: {
          PATH: process.env.PATH,
          DEBIAN_SECURITY_MIRROR: mirror,
          DEBIAN_ARCHIVE_KEYRING: keyring,
          ...env,
        },
      });
      let output = '';
      child.stdout.on('data', (chunk) => {
        output += chunk;
      });
      child.stderr.on('data', (chunk) => {
        output += chunk;
      });
      child.on('exit', (status) => resolve({ status, output }));
    });
  }

  beforeAll(async () => {
    dir = makeTempDir('check-engine');
    keyring = makeKey('archive').keyring;
    strangerKeyring = makeKey('stranger').keyring;
    server = createServer((request, response) => {
      try {
        response.end(readFileSync(join(dir, 'www', request.url ?? '/')));
      } catch {
        response.statusCode = 404;
        response.end();
      }
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const address = server.address();
    mirror = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  }, 60_000);
  afterAll(() => {
    server.close();
    removeTempDir(dir);
  });

  it('passes when the pin is the newest bookworm-security version and the tests run it', async () => {
    publish(localVersion);
    const result = await check();
    expect(result).toEqual({
      status: 0,
      output: expect.stringMatching(/ok: .*pins redis-server .* the newest in bookworm-security/),
    });
  });

  it('fails, naming the Dockerfile line and the new version, when a newer redis-server is out', async () => {
    const newer = localVersion.replace(/u(\d+)$/, (_m, n) => `u${Number(n) + 1}`);
    publish(newer);
    const result = await check();
    expect(result.status).toBe(1);
    expect(result.output).toContain(`offers redis-server ${newer}, newer than the ${localVersion}`);
    expect(result.output).toContain(
      `Change docker/redis/Dockerfile:${pinLine} to 'ARG REDIS_DEBIAN_VERSION=${newer}'`,
    );
  });

  it("fails when the tests' redis-server is not the version the image pins", async () => {
    const other = `${localVersion}+test1`;
    publish(other);
    const otherDockerfile = join(dir, 'Dockerfile');
    writeFileSync(
      otherDockerfile,
      dockerfile.replace(/^ARG REDIS_DEBIAN_VERSION=.*$/m, `ARG REDIS_DEBIAN_VERSION=${other}`),
    );
    const result = await check({ DOCKERFILE: otherDockerfile });
    expect(result.status).toBe(1);
    expect(result.output).toContain(
      `the tests' redis-server is ${localVersion}, but ${otherDockerfile}:${pinLine} pins ${other}`,
    );
    expect(result.output).toContain(`apt-get install redis-server=${other} redis-tools=${other}`);
  });

  it('trusts no index whose signature or checksum does not verify, nor an expired one', async () => {
    publish(localVersion);
    const stranger = await check({ DEBIAN_ARCHIVE_KEYRING: strangerKeyring });
    expect(stranger.status).toBe(1);
    expect(stranger.output).toMatch(/signature .* does not verify/);
    publish(localVersion, { tamper: true });
    const tampered = await check();
    expect(tampered.status).toBe(1);
    expect(tampered.output).toMatch(/does not match the checksum in the signed Release/);
    // Correctly signed but expired: a stale mirror or a replay could hide a newer Redis.
    publish(localVersion, { validUntil: new Date(Date.now() - 86_400_000) });
    const stale = await check();
    expect(stale.status).toBe(1);
    expect(stale.output).toMatch(/expired on .*stale index/);
  });
});
