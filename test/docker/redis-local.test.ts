import { execFileSync, spawnSync } from 'node:child_process';
import { mkdirSync, symlinkSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { REDIS_LOCAL } from '../../ops/local/redis-process';
import { makeTempDir, removeTempDir } from '../../ops/local/temp-dir';

// `npm run redis:local` errors an engineer meets on a new laptop.
function redisLocal(args: string[], env: Record<string, string | undefined> = process.env) {
  const result = spawnSync('/bin/bash', [REDIS_LOCAL, ...args], { env, encoding: 'utf8', timeout: 5_000 });
  return { status: result.status, stderr: result.stderr };
}

describe('npm run redis:local', () => {
  let dataDir: string;
  beforeAll(() => {
    dataDir = makeTempDir('redis-local');
  });
  afterAll(() => removeTempDir(dataDir));

  it('says how to install redis-server when it is missing', () => {
    // A PATH with only what the script needs before its check: no redis-server on it.
    const bin = join(dataDir, 'bin');
    mkdirSync(bin);
    for (const tool of ['bash', 'dirname'])
      symlinkSync(execFileSync('which', [tool], { encoding: 'utf8' }).trim(), join(bin, tool));
    const result = redisLocal(['--port', '1', '--data-dir', dataDir], { PATH: bin });
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(/redis-server is not installed.*apt-get install redis-server/);
  });

  it('refuses a port that is already taken', async () => {
    const server: Server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const address = server.address();
    const port = typeof address === 'object' && address ? address.port : 0;
    try {
      const result = redisLocal(['--port', String(port), '--data-dir', dataDir]);
      expect(result.status).toBe(2);
      expect(result.stderr).toMatch(new RegExp(`port ${port} is already in use`));
    } finally {
      server.close();
    }
  });

  it.each([
    [['--port', 'abc'], /--port 'abc' is not a port number/],
    [['--port', '70000'], /--port 70000 is out of range/],
    [['--port'], /--port needs a value/],
    [['--verbose'], /unknown argument '--verbose'/],
  ])('rejects %j with a clear error', (args, message) => {
    const result = redisLocal(args);
    expect(result.status).toBe(2);
    expect(result.stderr).toMatch(message);
  });
});
