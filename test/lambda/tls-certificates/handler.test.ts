import { ECSClient, UpdateServiceCommand } from '@aws-sdk/client-ecs';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import type { CloudFormationCustomResourceEvent, Context, ScheduledEvent } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import {
  certificateFacts,
  isIssuedBy,
  issueCa,
  issueServerCertificate,
} from '../../../lambda/tls-certificates/certificates';
import { CA_SECRET, DAY_MS, PLACEHOLDER, pemBody, SERVER_SECRET, secretStore } from './fakes';

// The deployed entry point: the custom resource's onEvent and the scheduled renewal, with its
// configuration from the environment and Powertools' real log output captured from stdout.
const secretsMock = mockClient(SecretsManagerClient);
const ecsMock = mockClient(ECSClient);
const DNS_NAME = 'redis.dev.emailplatform.internal';
const ENV = {
  STAGE: 'dev',
  CA_SECRET_ARN: CA_SECRET,
  SERVER_SECRET_ARN: SERVER_SECRET,
  DNS_NAMES: `${DNS_NAME}, redis.internal`,
  CLUSTER_NAME: 'emailclient-redis-dev',
  SERVICE_NAME: 'redis',
  AWS_REGION: 'eu-west-1',
  POWERTOOLS_DEV: 'false',
};
const context = { functionName: 'tls-certificates', awsRequestId: 'req-1' } as unknown as Context;

function customResource(RequestType: 'Create' | 'Update' | 'Delete'): CloudFormationCustomResourceEvent {
  return {
    RequestType,
    ServiceToken: 'arn:aws:lambda:eu-west-1:123456789012:function:provider',
    ResponseURL: 'https://example.invalid/',
    StackId: 'arn:aws:cloudformation:eu-west-1:123456789012:stack/dev/1',
    RequestId: 'r1',
    LogicalResourceId: 'TlsCertificates',
    ResourceType: 'Custom::RedisTlsCertificates',
    ResourceProperties: { ServiceToken: 'x' },
    ...(RequestType !== 'Create' && { PhysicalResourceId: SERVER_SECRET, OldResourceProperties: {} }),
  } as CloudFormationCustomResourceEvent;
}
const scheduled = {
  'detail-type': 'Scheduled Event',
  source: 'aws.events',
  detail: {},
} as unknown as ScheduledEvent;

describe('tls-certificates handler', () => {
  let handler: typeof import('../../../lambda/tls-certificates/handler').handler;
  let settingsFromEnv: typeof import('../../../lambda/tls-certificates/handler').settingsFromEnv;
  let stdout: string[];
  const saved = { ...process.env };

  beforeAll(async () => {
    Object.assign(process.env, ENV);
    ({ handler, settingsFromEnv } = await import('../../../lambda/tls-certificates/handler'));
  });
  afterAll(() => {
    for (const name of Object.keys(ENV)) {
      if (saved[name] === undefined) delete process.env[name];
      else process.env[name] = saved[name];
    }
  });
  beforeEach(() => {
    secretsMock.reset();
    ecsMock.reset();
    ecsMock.on(UpdateServiceCommand).resolves({});
    stdout = [];
    jest.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      stdout.push(chunk.toString());
      return true;
    });
  });
  afterEach(() => jest.restoreAllMocks());

  /** A stage deployed 320 days ago: its server certificate has 45 days left. */
  async function agedStage() {
    const then = new Date(Date.now() - 320 * DAY_MS);
    const ca = await issueCa({ commonName: 'Redis TLS CA dev', validDays: 3650, now: then });
    const server = await issueServerCertificate(ca, {
      dnsNames: [DNS_NAME, 'redis.internal'],
      validDays: 365,
      now: then,
    });
    return secretStore(secretsMock, {
      [CA_SECRET]: JSON.stringify({ certificate: ca.certificatePem, privateKey: ca.privateKeyPem }),
      [SERVER_SECRET]: JSON.stringify({
        certificate: server.certificatePem,
        privateKey: server.privateKeyPem,
        ca: ca.certificatePem,
      }),
    });
  }

  it('on Create issues the certificates, returns the CA certificate, and restarts nothing', async () => {
    const store = secretStore(secretsMock, { [CA_SECRET]: PLACEHOLDER, [SERVER_SECRET]: PLACEHOLDER });
    const response = await handler(customResource('Create'), context);

    const ca = store.json(CA_SECRET).certificate as string;
    expect(response).toEqual({
      PhysicalResourceId: SERVER_SECRET,
      Data: {
        CaCertificate: ca,
        CaNotAfter: certificateFacts(ca).notAfter.toISOString(),
        ServerNotAfter: certificateFacts(
          store.json(SERVER_SECRET).certificate as string,
        ).notAfter.toISOString(),
      },
    });
    expect(certificateFacts(store.json(SERVER_SECRET).certificate as string).dnsNames).toEqual([
      DNS_NAME,
      'redis.internal',
    ]);
    expect(certificateFacts(ca).subject).toMatch(/^CN=Redis TLS CA dev \d{4}-\d{2}-\d{2}$/);
    expect(ecsMock.commandCalls(UpdateServiceCommand)).toHaveLength(0);
    // Powertools wrote JSON lines, none with a key.
    const logs = stdout.join('');
    expect(logs).toContain('"message":"TLS CA issued"');
    expect(logs).toContain('"service":"redis-tls-certificates"');
    expect(logs).not.toContain('PRIVATE KEY');
    expect(logs).not.toContain(pemBody(store.json(SERVER_SECRET).privateKey as string).slice(0, 40));
    expect(logs).not.toContain(pemBody(store.json(CA_SECRET).privateKey as string).slice(0, 40));
  });

  it('on Update renews a due certificate but never restarts the service (the deploy does)', async () => {
    const store = await agedStage();
    const response = await handler(customResource('Update'), context);
    expect(response).toMatchObject({ PhysicalResourceId: SERVER_SECRET });
    expect(store.writesTo(SERVER_SECRET)).toBe(1);
    expect(store.writesTo(CA_SECRET)).toBe(0);
    expect(ecsMock.commandCalls(UpdateServiceCommand)).toHaveLength(0);
  });

  it('on Delete does nothing: the secrets belong to the stack', async () => {
    const store = secretStore(secretsMock, {});
    await expect(handler(customResource('Delete'), context)).resolves.toEqual({
      PhysicalResourceId: SERVER_SECRET,
    });
    expect(secretsMock.calls()).toHaveLength(0);
    expect(store.writes).toEqual([]);
  });

  it('on the schedule renews a due certificate and restarts the configured service', async () => {
    const store = await agedStage();
    const caBefore = store.values.get(CA_SECRET);
    const oldCertificate = store.json(SERVER_SECRET).certificate as string;

    const result = await handler(scheduled, context);
    expect(result).toMatchObject({ issued: 'renewed', restarted: true, caExpiresSoon: false });
    const renewed = store.json(SERVER_SECRET).certificate as string;
    expect(renewed).not.toBe(oldCertificate);
    expect(await isIssuedBy(renewed, store.json(CA_SECRET).certificate as string)).toBe(true);
    expect(certificateFacts(renewed).notAfter.getTime()).toBeGreaterThan(Date.now() + 364 * DAY_MS);
    expect(store.values.get(CA_SECRET)).toBe(caBefore);
    expect(ecsMock.commandCalls(UpdateServiceCommand).map((call) => call.args[0].input)).toEqual([
      { cluster: 'emailclient-redis-dev', service: 'redis', forceNewDeployment: true },
    ]);
    const logs = stdout.join('');
    expect(logs).toContain('"message":"scheduled certificate check done"');
    expect(logs).toMatch(/"message":"restarting the Redis service[^\n]*"ecsService":"redis"/);
    expect(logs).not.toContain('reserved key');
  });

  it('on the schedule does nothing when nothing is due', async () => {
    const store = secretStore(secretsMock, { [CA_SECRET]: PLACEHOLDER, [SERVER_SECRET]: PLACEHOLDER });
    await handler(customResource('Create'), context);
    const writes = store.writes.length;
    await expect(handler(scheduled, context)).resolves.toMatchObject({ issued: 'none', restarted: false });
    expect(store.writes.length).toBe(writes);
    expect(ecsMock.commandCalls(UpdateServiceCommand)).toHaveLength(0);
  });

  it('refuses an event it does not know', async () => {
    await expect(handler({ hello: 'world' } as unknown as ScheduledEvent, context)).rejects.toThrow(
      /unexpected event/,
    );
  });

  it('reads its settings from the environment, naming what is missing or wrong', () => {
    expect(settingsFromEnv({ ...ENV, RENEW_BEFORE_DAYS: '30', SERVER_VALID_DAYS: '90' })).toMatchObject({
      caSecretId: CA_SECRET,
      serverSecretId: SERVER_SECRET,
      dnsNames: [DNS_NAME, 'redis.internal'],
      ipAddresses: [],
      renewBeforeDays: 30,
      serverValidDays: 90,
      caValidDays: 3650,
      service: { cluster: 'emailclient-redis-dev', service: 'redis' },
    });
    const { DNS_NAMES: _, ...withoutNames } = ENV;
    expect(() => settingsFromEnv(withoutNames)).toThrow('environment variable DNS_NAMES is not set');
    expect(() => settingsFromEnv({ ...ENV, RENEW_BEFORE_DAYS: 'soon' })).toThrow(
      'environment variable RENEW_BEFORE_DAYS must be a positive whole number of days, not soon',
    );
  });
});
