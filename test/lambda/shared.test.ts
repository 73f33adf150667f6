import { inspect } from 'node:util';
import { deadlineSignal } from '../../lambda/backup';
import { checkRestoredKeys } from '../../lambda/restore/check-keys';
import {
  describeTarget,
  ioredisOptions,
  parseRedisUrl,
  tlsFromEnvironment,
} from '../../lambda/shared/redis-connection';
import { readRedisFacts } from '../../lambda/shared/redis-facts';
import { createS3Client } from '../../lambda/shared/s3-client';
import { RedisProcess } from '../../ops/local/redis-process';

describe('parseRedisUrl', () => {
  it('reads user, password, host, port and TLS', () => {
    expect(parseRedisUrl('redis://backup:p%40ss@redis.internal:6380/0')).toEqual({
      host: 'redis.internal',
      port: 6380,
      username: 'backup',
      password: 'p@ss',
    });
    expect(parseRedisUrl('rediss://:secret@10.0.0.5')).toEqual({
      host: '10.0.0.5',
      port: 6379,
      password: 'secret',
      tls: true,
    });
    expect(parseRedisUrl('redis://[::1]:7000')).toEqual({ host: '::1', port: 7000 });
  });

  it('refuses what is not a Redis URL, without echoing it (it may hold a password)', () => {
    expect(() => parseRedisUrl('http://u:secret@host')).toThrow(/scheme "http:"/);
    expect(() => parseRedisUrl('redis//u:secret@host')).toThrow(/invalid Redis URL/);
    expect(() => parseRedisUrl('not a url :secret')).toThrow(/invalid Redis URL/);
    expect(() => parseRedisUrl('not a url :secret')).not.toThrow(/secret/);
  });
});

describe('tlsFromEnvironment (how our functions reach Redis)', () => {
  const ca = '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----';
  it('verifies Redis with the stage CA, for the host name it is reached by', () => {
    expect(tlsFromEnvironment('redis.dev.emailclient.internal', { REDIS_TLS_CA: ca })).toEqual({
      ca,
      servername: 'redis.dev.emailclient.internal',
    });
  });
  it('sends no server name for an IP address (RFC 6066), still verifying with the CA', () => {
    expect(tlsFromEnvironment('10.0.1.5', { REDIS_TLS_CA: ca })).toEqual({ ca });
  });
  it('REDIS_TLS=true: the system trust store; neither: plaintext', () => {
    expect(tlsFromEnvironment('h', { REDIS_TLS: 'true' })).toBe(true);
    expect(tlsFromEnvironment('h', {})).toBeUndefined();
  });
});

describe('describeTarget', () => {
  it('names user and server, never the password', () => {
    const text = describeTarget({ host: 'h', port: 1, username: 'backup', password: 'secret', tls: true });
    expect(text).toBe('backup@h:1 (tls)');
  });
});

describe('ioredisOptions', () => {
  it('fails fast: bounded reconnects, no retries per request, no offline queue, no CLIENT SETINFO', () => {
    const options = ioredisOptions({ host: 'h', port: 6379, username: 'backup', password: 'pw', tls: true });
    expect(options).toMatchObject({
      host: 'h',
      port: 6379,
      username: 'backup',
      password: 'pw',
      tls: {},
      maxRetriesPerRequest: 0,
      enableOfflineQueue: false,
      disableClientInfo: true,
      lazyConnect: true,
    });
    const retry = options.retryStrategy as (times: number) => number | null;
    expect(retry(1)).toBe(200);
    expect(retry(2)).toBe(400);
    expect(retry(3)).toBeNull();
    expect(ioredisOptions({ host: 'h', port: 1 })).not.toHaveProperty('password');
  });
});

describe('createS3Client', () => {
  it('uses path-style and checksums-when-required for an emulator endpoint only', async () => {
    const emulator = createS3Client({ endpointUrl: 'http://127.0.0.1:9000', region: 'eu-west-1' });
    expect(emulator.config.forcePathStyle).toBe(true);
    expect(await emulator.config.requestChecksumCalculation()).toBe('WHEN_REQUIRED');
    const aws = createS3Client({ region: 'eu-west-1' });
    expect(aws.config.forcePathStyle).toBe(false);
    expect(await aws.config.requestChecksumCalculation()).toBe('WHEN_SUPPORTED');
    emulator.destroy();
    aws.destroy();
  });
});

describe('deadlineSignal', () => {
  it('fires the margin before the deadline, with a reason that says so', async () => {
    const signal = deadlineSignal(80, 50);
    expect(signal.aborted).toBe(false);
    await new Promise((resolve) => setTimeout(resolve, 60));
    expect(signal.aborted).toBe(true);
    expect((signal.reason as Error).message).toMatch(/50 ms before the Lambda timeout/);
  });
});

describe('errors from a refused AUTH', () => {
  // ioredis errors carry the failed command's arguments: AUTH <user> <password>.
  it('never carry the password, not even in their cause', async () => {
    const redis = await RedisProcess.start();
    const wrong = 'a-wrong-password-that-must-not-leak';
    const target = { host: '127.0.0.1', port: redis.port, username: 'backup', password: wrong };
    try {
      const failures = await Promise.all([
        readRedisFacts(target).catch((error: unknown) => error),
        checkRestoredKeys({ ...target, username: 'monitor' }, 1).catch((error: unknown) => error),
      ]);
      // A refused password is a configuration problem: the restore check does not retry it.
      expect((failures[1] as Error).name).toBe('RedisRefused');
      for (const failure of failures) {
        expect(failure).toBeInstanceOf(Error);
        expect((failure as Error).message).toMatch(/WRONGPASS/);
        expect(inspect(failure, { depth: 10, showHidden: true })).not.toContain(wrong);
      }
    } finally {
      await redis.cleanup();
    }
  });
});
