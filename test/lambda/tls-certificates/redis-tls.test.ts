import { ECSClient } from '@aws-sdk/client-ecs';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import Redis from 'ioredis';
import { issueCa } from '../../../lambda/tls-certificates/certificates';
import { ensureCertificates } from '../../../lambda/tls-certificates/manage';
import { freePort } from '../../../ops/local/ports';
import { PASSWORDS, RedisProcess } from '../../../ops/local/redis-process';
import { CA_SECRET, PLACEHOLDER, pemDir, recordingLogger, SERVER_SECRET, secretStore } from './fakes';

// End to end as a stage runs it: the server secret's three JSON keys become the task's
// REDIS_TLS_CERT, REDIS_TLS_KEY and REDIS_TLS_CA; the project's entrypoint starts a real
// redis-server (Debian's, OpenSSL 3) with them, TLS only; a client that trusts the stage CA and
// asks for the DNS name gets PONG.
const DNS_NAME = 'redis.dev.emailplatform.internal';

describe('the issued certificates in a real Redis', () => {
  const secretsMock = mockClient(SecretsManagerClient);
  const files = pemDir();
  let redis: RedisProcess | undefined;
  let tlsPort: number;
  let caPem: string;

  beforeAll(async () => {
    const store = secretStore(secretsMock, { [CA_SECRET]: PLACEHOLDER, [SERVER_SECRET]: PLACEHOLDER });
    const result = await ensureCertificates(
      { secrets: new SecretsManagerClient({}), ecs: new ECSClient({}), logger: recordingLogger().logger },
      { caSecretId: CA_SECRET, serverSecretId: SERVER_SECRET, dnsNames: [DNS_NAME] },
    );
    caPem = result.caCertificatePem;
    const server = store.json(SERVER_SECRET);
    tlsPort = await freePort();
    redis = await RedisProcess.start({
      env: {
        REDIS_TLS: 'required',
        REDIS_TLS_PORT: String(tlsPort),
        REDIS_TLS_CERT: server.certificate as string,
        REDIS_TLS_KEY: server.privateKey as string,
        REDIS_TLS_CA: server.ca as string,
        REDIS_RUNTIME_DIR: `${files.dir}/tls`,
      },
    });
  });
  afterAll(async () => {
    await redis?.cleanup();
    secretsMock.restore();
    files.cleanup();
  });

  async function ping(ca: string, servername: string): Promise<string> {
    const client = new Redis({
      host: '127.0.0.1',
      port: tlsPort,
      password: PASSWORDS.default,
      tls: { ca, servername },
      retryStrategy: () => null,
      maxRetriesPerRequest: 0,
      lazyConnect: true,
      disconnectTimeout: 100,
    });
    // ioredis reports a failed handshake as "Connection is closed."; the cause is in its error event.
    const errors: string[] = [];
    client.on('error', (error: Error) => errors.push(error.message));
    try {
      await client.connect();
      return await client.ping();
    } catch (error) {
      return errors[0] ?? (error as Error).message;
    } finally {
      client.disconnect();
    }
  }

  it('serves a client that trusts the stage CA and connects by the DNS name', async () => {
    expect(await ping(caPem, DNS_NAME)).toBe('PONG');
  });

  it('is refused by a client that trusts another CA, or asks for another name', async () => {
    const other = await issueCa({ commonName: 'Redis TLS CA other', validDays: 30 });
    expect(await ping(other.certificatePem, DNS_NAME)).toMatch(
      /self-signed certificate in certificate chain|unable to verify the first certificate/,
    );
    expect(await ping(caPem, 'redis.prod.emailplatform.internal')).toMatch(
      /does not match certificate's altnames/,
    );
  });
});
