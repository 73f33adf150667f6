import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { terminal } from '../../ops/cli-kit';
import { REPO_ROOT, RedisProcess } from '../../ops/local/redis-process';
import { S3Server } from '../../ops/local/s3-server';
import { makeTempDir } from '../../ops/local/temp-dir';
import { describeTransfer, formatDuration } from '../../ops/progress';
import { fetchRdb } from '../lambda/helpers/rdb';
import { S3RVER_ENV } from '../support/ops-cli';

const MiB = 1024 * 1024;

describe('progress lines', () => {
  it('shows bytes, rate, percent and ETA when the size is known', () => {
    expect(describeTransfer('restore: download', 30 * MiB, { bytes: 120 * MiB }, 2_000)).toBe(
      'restore: download: 30.0 MiB of 120.0 MiB (25%), 15.0 MiB/s, ETA 0:06',
    );
  });

  it('marks an estimated size with ~, and drops it once the transfer passed it', () => {
    expect(describeTransfer('backup', 50 * MiB, { bytes: 100 * MiB, estimated: true }, 5_000)).toBe(
      'backup: 50.0 MiB of ~100.0 MiB (~50%), 10.0 MiB/s, ETA ~0:05',
    );
    expect(describeTransfer('backup', 101 * MiB, { bytes: 100 * MiB, estimated: true }, 5_000)).toBe(
      'backup: 101.0 MiB, 20.2 MiB/s',
    );
  });

  it('shows bytes and rate only when the size is unknown', () => {
    expect(describeTransfer('backup', 3 * MiB, undefined, 1_000)).toBe('backup: 3.0 MiB, 3.0 MiB/s');
  });

  it('formats durations as m:ss or h:mm:ss', () => {
    expect(formatDuration(6_000)).toBe('0:06');
    expect(formatDuration(750_000)).toBe('12:30');
    expect(formatDuration(3_723_000)).toBe('1:02:03');
  });
});

describe('the terminal', () => {
  const writes: string[] = [];
  const isTTY = process.stderr.isTTY;
  let spy: jest.SpyInstance;
  beforeEach(() => {
    writes.length = 0;
    spy = jest.spyOn(process.stderr, 'write').mockImplementation((chunk) => {
      writes.push(String(chunk));
      return true;
    });
  });
  afterEach(() => {
    spy.mockRestore();
    process.stderr.isTTY = isTTY;
    terminal.progressShown = false;
  });

  it('clears a progress line before the next message, so that nothing glues onto it (e.g. after Ctrl-C)', () => {
    process.stderr.isTTY = true;
    terminal.progress('download: 1.0 MiB');
    terminal.say('restore: interrupted');
    expect(writes.join('')).toBe('\r\x1b[Kdownload: 1.0 MiB\r\x1b[Krestore: interrupted\n');
  });

  it('draws no progress when stderr is not a terminal (a log, a pipe), but still says what matters', () => {
    process.stderr.isTTY = false;
    terminal.progress('download: 1.0 MiB');
    terminal.note('chatter');
    terminal.say('restore: failed');
    expect(writes.join('')).toBe('restore: failed\n');
  });
});

// On a real terminal (a pty from script(1)): the local restore's progress, then each message on
// a line of its own.
describe('ops restore on a terminal', () => {
  it('shows the download with percent and ETA, then the verification and the install', async () => {
    const s3 = await S3Server.start();
    const redis = await RedisProcess.start();
    try {
      const client = redis.client();
      for (let i = 0; i < 16; i++) await client.set(`bulk:${i}`, randomBytes(MiB));
      const key = 'snapshots/dev/2026/11/25/20261125T020000Z.rdb';
      await s3.client.send(
        new PutObjectCommand({ Bucket: s3.bucket, Key: key, Body: await fetchRdb(redis.port) }),
      );
      const command = [
        process.execPath,
        join(REPO_ROOT, 'ops/launch.cjs'),
        'ops/cli.ts',
        'restore',
        `--bucket ${s3.bucket} --endpoint-url ${s3.endpoint} --snapshot ${key}`,
        `--data-dir ${join(makeTempDir('restore-tty'), 'data')}`,
      ].join(' ');
      // Not spawnSync: the S3 server runs in this process and must keep answering.
      const child = spawn('script', ['-qec', command, '/dev/null'], {
        cwd: REPO_ROOT,
        env: { ...process.env, ...S3RVER_ENV },
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      let screen = '';
      child.stdout.on('data', (chunk: Buffer) => {
        screen += chunk.toString();
      });
      const status = await new Promise((resolve) => child.on('close', resolve));
      expect(status).toBe(0);
      const CLEAR_LINE = '\r\x1b[K';
      const redraws = screen.split(CLEAR_LINE).slice(1);
      expect(
        redraws.some((text) =>
          /^restore: download and verify: [\d.]+ \w+ of 16\.\d MiB \(\d+%\), [\d.]+ \w+\/s, ETA \d+:\d\d$/.test(
            text,
          ),
        ),
      ).toBe(true);
      // The progress line is cleared before the next message: it starts on a clean line.
      expect(
        redraws.some((text) =>
          /^restore: downloaded 16\.\d MiB in [\d.]+ s \([\d.]+ \w+\/s\); verified: RDB format 10/.test(text),
        ),
      ).toBe(true);
      expect(screen).toMatch(/\r?\nrestore: installing into /);
    } finally {
      await redis.cleanup();
      await s3.cleanup();
    }
  });
});
