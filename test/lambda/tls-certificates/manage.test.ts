import { ECSClient, UpdateServiceCommand } from '@aws-sdk/client-ecs';
import { GetSecretValueCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { mockClient } from 'aws-sdk-client-mock';
import {
  certificateFacts,
  isIssuedBy,
  issueCa,
  issueServerCertificate,
  privateKeyMatches,
} from '../../../lambda/tls-certificates/certificates';
import {
  type CertificateResult,
  type CertificateSettings,
  ensureCertificates,
} from '../../../lambda/tls-certificates/manage';
import {
  CA_SECRET,
  DAY_MS,
  PLACEHOLDER,
  pemBody,
  recordingLogger,
  SERVER_SECRET,
  secretStore,
} from './fakes';

// ensureCertificates with real certificates and only the AWS control-plane APIs mocked: Secrets
// Manager as an in-memory store (writes are read back), ECS recording UpdateService.
const secretsMock = mockClient(SecretsManagerClient);
const ecsMock = mockClient(ECSClient);
const secrets = new SecretsManagerClient({});
const ecs = new ECSClient({});

const DNS_NAME = 'redis.dev.emailplatform.internal';
const settings: CertificateSettings = {
  caSecretId: CA_SECRET,
  serverSecretId: SERVER_SECRET,
  dnsNames: [DNS_NAME],
  caCommonName: 'Redis TLS CA dev',
  service: { cluster: 'emailclient-redis-dev', service: 'redis' },
};
const T0 = new Date('2026-12-01T09:00:00Z');
const at = (days: number) => new Date(T0.getTime() + days * DAY_MS);

function setup(
  initial: Record<string, string | undefined> = { [CA_SECRET]: PLACEHOLDER, [SERVER_SECRET]: PLACEHOLDER },
) {
  const store = secretStore(secretsMock, initial);
  ecsMock.on(UpdateServiceCommand).resolves({});
  const log = recordingLogger();
  const run = (now: Date, overrides: Partial<CertificateSettings> = {}) =>
    ensureCertificates({ secrets, ecs, logger: log.logger, now: () => now }, { ...settings, ...overrides });
  return { store, log, run };
}
const updates = () => ecsMock.commandCalls(UpdateServiceCommand).map((call) => call.args[0].input);

beforeEach(() => {
  secretsMock.reset();
  ecsMock.reset();
});

describe('ensureCertificates', () => {
  it('first run: issues the CA and a server certificate from placeholders, and restarts nothing', async () => {
    const { store, run } = setup();
    const result = await run(T0);

    const caSecret = store.json(CA_SECRET);
    const serverSecret = store.json(SERVER_SECRET);
    expect(Object.keys(caSecret).sort()).toEqual(['certificate', 'privateKey']);
    expect(Object.keys(serverSecret).sort()).toEqual(['ca', 'certificate', 'privateKey']);
    const caPem = caSecret.certificate as string;
    const serverPem = serverSecret.certificate as string;
    expect(certificateFacts(caPem)).toMatchObject({ isCa: true, issuer: 'CN=Redis TLS CA dev 2026-12-01' });
    expect(privateKeyMatches(caPem, caSecret.privateKey as string)).toBe(true);
    expect(privateKeyMatches(serverPem, serverSecret.privateKey as string)).toBe(true);
    expect(await isIssuedBy(serverPem, caPem)).toBe(true);
    expect(serverSecret.ca).toBe(caPem);
    expect(certificateFacts(serverPem).dnsNames).toEqual([DNS_NAME]);

    expect(result).toEqual({
      caCertificatePem: caPem,
      caNotAfter: at(3650).toISOString(),
      serverNotAfter: at(365).toISOString(),
      issued: 'first',
      reason: 'no server certificate issued yet',
      restarted: false,
      caExpiresSoon: false,
    });
    expect(updates()).toEqual([]);
  });

  it('second run: changes nothing (no write, no restart)', async () => {
    const { store, run } = setup();
    const first = await run(T0);
    const before = new Map(store.values);
    const writes = store.writes.length;

    const second = await run(at(1));
    expect(second).toEqual({ ...first, issued: 'none', reason: undefined });
    expect(second).not.toHaveProperty('reason');
    expect(store.writes.length).toBe(writes);
    expect(store.values).toEqual(before);
    expect(updates()).toEqual([]);
  });

  it('renews a server certificate that expires within renewBeforeDays, and restarts the service once', async () => {
    const { store, run } = setup();
    const first = await run(T0);
    const oldServer = store.json(SERVER_SECRET);

    // 320 days on, the 365-day certificate has 45 days left: less than the 60 of renewBeforeDays.
    const renewal = await run(at(320));
    expect(renewal).toMatchObject({
      issued: 'renewed',
      restarted: true,
      caCertificatePem: first.caCertificatePem,
      serverNotAfter: at(320 + 365).toISOString(),
    });
    expect(renewal.reason).toMatch(/expires at .* within 60 days/);
    expect(updates()).toEqual([
      { cluster: 'emailclient-redis-dev', service: 'redis', forceNewDeployment: true },
    ]);

    const newServer = store.json(SERVER_SECRET);
    expect(newServer.certificate).not.toBe(oldServer.certificate);
    expect(newServer.privateKey).not.toBe(oldServer.privateKey);
    expect(certificateFacts(newServer.certificate as string).serialNumber).not.toBe(
      certificateFacts(oldServer.certificate as string).serialNumber,
    );
    expect(await isIssuedBy(newServer.certificate as string, first.caCertificatePem)).toBe(true);
    // The restart marker was cleared after the restart: the stored value is what the task reads.
    expect(Object.keys(newServer).sort()).toEqual(['ca', 'certificate', 'privateKey']);
    expect(store.json(CA_SECRET).certificate).toBe(first.caCertificatePem);

    // And the next day nothing happens again.
    const writes = store.writes.length;
    expect(await run(at(321))).toMatchObject({ issued: 'none', restarted: false });
    expect(store.writes.length).toBe(writes);
    expect(updates()).toHaveLength(1);
  });

  it('does not renew 61 days before expiry, does renew 59 days before', async () => {
    const { run } = setup();
    await run(T0);
    expect((await run(at(365 - 61))).issued).toBe('none');
    expect((await run(at(365 - 59))).issued).toBe('renewed');
  });

  it('reissues when the DNS names or IP addresses change, keeping the CA', async () => {
    const { store, run } = setup();
    const first = await run(T0);

    const renamed = await run(at(1), { dnsNames: [DNS_NAME, 'redis.internal'] });
    expect(renamed).toMatchObject({
      issued: 'reissued',
      restarted: true,
      caCertificatePem: first.caCertificatePem,
    });
    expect(certificateFacts(store.json(SERVER_SECRET).certificate as string).dnsNames).toEqual([
      DNS_NAME,
      'redis.internal',
    ]);

    const withIp = await run(at(2), { dnsNames: [DNS_NAME, 'redis.internal'], ipAddresses: ['10.0.1.5'] });
    expect(withIp.issued).toBe('reissued');
    expect(certificateFacts(store.json(SERVER_SECRET).certificate as string).ipAddresses).toEqual([
      '10.0.1.5',
    ]);

    // Same names in another order and case: the same set, nothing to do.
    const same = await run(at(3), { dnsNames: ['REDIS.internal', DNS_NAME], ipAddresses: ['10.0.1.5'] });
    expect(same.issued).toBe('none');
    expect(updates()).toHaveLength(2);
    expect(store.json(CA_SECRET).certificate).toBe(first.caCertificatePem);
  });

  it('reissues a server certificate that another CA signed', async () => {
    const foreignCa = await issueCa({ commonName: 'Redis TLS CA dev 2026-12-01', validDays: 3650, now: T0 });
    const foreign = await issueServerCertificate(foreignCa, {
      dnsNames: [DNS_NAME],
      validDays: 365,
      now: T0,
    });
    const { store, run } = setup({
      [CA_SECRET]: PLACEHOLDER,
      [SERVER_SECRET]: JSON.stringify({
        certificate: foreign.certificatePem,
        privateKey: foreign.privateKeyPem,
        ca: foreignCa.certificatePem,
      }),
    });
    const result = await run(T0);
    expect(result).toMatchObject({
      issued: 'reissued',
      reason: 'the certificate was not signed by the current CA',
    });
    expect(await isIssuedBy(store.json(SERVER_SECRET).certificate as string, result.caCertificatePem)).toBe(
      true,
    );
  });

  it('reissues when the stored key is not the certificate key', async () => {
    const { store, run } = setup();
    await run(T0);
    const value = store.json(SERVER_SECRET);
    store.values.set(
      SERVER_SECRET,
      JSON.stringify({ ...value, privateKey: store.json(CA_SECRET).privateKey }),
    );
    expect((await run(at(1))).issued).toBe('reissued');
    const repaired = store.json(SERVER_SECRET);
    expect(privateKeyMatches(repaired.certificate as string, repaired.privateKey as string)).toBe(true);
  });

  it.each([
    ['a placeholder', PLACEHOLDER],
    ['no value at all', undefined],
    ['a value that is not JSON', 'not json'],
    ['a certificate that does not parse', JSON.stringify({ certificate: 'garbage', privateKey: 'x' })],
  ])('counts %s as not issued yet', async (_what, value) => {
    const { store, run } = setup({ [CA_SECRET]: value, [SERVER_SECRET]: value });
    const result = await run(T0);
    expect(result.issued).toBe('first');
    expect(certificateFacts(store.json(CA_SECRET).certificate as string).isCa).toBe(true);
    expect(updates()).toEqual([]);
  });

  it('keeps an existing CA: a server secret from a placeholder is signed by the stored CA', async () => {
    const existing = await issueCa({
      commonName: 'Redis TLS CA dev 2025-01-01',
      validDays: 3650,
      now: at(-300),
    });
    const caValue = JSON.stringify({
      certificate: existing.certificatePem,
      privateKey: existing.privateKeyPem,
    });
    const { store, run } = setup({ [CA_SECRET]: caValue, [SERVER_SECRET]: PLACEHOLDER });
    const result = await run(T0);
    expect(result.caCertificatePem).toBe(existing.certificatePem);
    expect(store.values.get(CA_SECRET)).toBe(caValue);
    expect(store.writesTo(CA_SECRET)).toBe(0);
    expect(await isIssuedBy(store.json(SERVER_SECRET).certificate as string, existing.certificatePem)).toBe(
      true,
    );
  });

  it('never replaces a CA whose key is missing or wrong: it fails naming the secret', async () => {
    const existing = await issueCa({ commonName: 'ca', validDays: 3650, now: T0 });
    const other = await issueCa({ commonName: 'other', validDays: 3650, now: T0 });
    const { store, run } = setup({
      [CA_SECRET]: JSON.stringify({ certificate: existing.certificatePem, privateKey: other.privateKeyPem }),
      [SERVER_SECRET]: PLACEHOLDER,
    });
    await expect(run(T0)).rejects.toThrow(
      `secret ${CA_SECRET} holds a CA certificate without its private key`,
    );
    expect(store.writes).toEqual([]);
  });

  it('reports a CA that needs a rollover as an error, never replaces it, and does not loop on the server certificate', async () => {
    const { store, log, run } = setup();
    const first = await run(T0);

    // 50 days before the CA's end (renewBeforeDays 60): the expired server certificate is renewed,
    // but only up to the CA's end.
    const late = await run(at(3600));
    expect(late).toMatchObject({
      caExpiresSoon: true,
      caCertificatePem: first.caCertificatePem,
      issued: 'renewed',
      serverNotAfter: first.caNotAfter,
    });
    expect(log.lines.filter((line) => line.includes('"level":"error"')).join('\n')).toMatch(
      /CA rollover is needed.*caNotAfter/,
    );
    expect(store.json(CA_SECRET).certificate).toBe(first.caCertificatePem);

    // The next day: the certificate cannot outlive its CA, so a new one would change nothing.
    const writes = store.writes.length;
    expect(await run(at(3601))).toMatchObject({ caExpiresSoon: true, issued: 'none', restarted: false });
    expect(store.writes.length).toBe(writes);
    expect(updates()).toHaveLength(1);
  });

  it('when the restart fails, says so and restarts at the next run (the marker survives in the secret)', async () => {
    const { store, run } = setup();
    await run(T0);
    ecsMock.on(UpdateServiceCommand).rejectsOnce(new Error('AccessDeniedException: not authorized'));
    await expect(run(at(320))).rejects.toThrow(
      /restarting ECS service redis in cluster emailclient-redis-dev \(UpdateService\) failed: AccessDeniedException/,
    );
    expect(store.json(SERVER_SECRET).restartPending).toBe(true);

    ecsMock.on(UpdateServiceCommand).resolves({});
    const retry = await run(at(321));
    expect(retry).toMatchObject({ issued: 'none', restarted: true });
    expect(updates()).toHaveLength(2);
    expect(store.json(SERVER_SECRET)).not.toHaveProperty('restartPending');
    expect((await run(at(322))).restarted).toBe(false);
  });

  it('without a service (the deploy): renews but restarts nothing, and leaves the restart due for the scheduled run', async () => {
    const { store, run } = setup();
    await run(T0, { service: undefined });
    const renewed = await run(at(320), { service: undefined });
    expect(renewed).toMatchObject({ issued: 'renewed', restarted: false });
    expect(updates()).toEqual([]);
    // Redis still serves the old certificate: the next scheduled run (with the service) restarts it.
    expect(store.json(SERVER_SECRET)).toHaveProperty('restartPending', true);
    const scheduled = await run(at(321));
    expect(scheduled).toMatchObject({ issued: 'none', restarted: true });
    expect(updates()).toHaveLength(1);
    expect(store.json(SERVER_SECRET)).not.toHaveProperty('restartPending');
  });

  it('uses the CA that is stored when another run wrote one at the same time', async () => {
    const winner = await issueCa({ commonName: 'Redis TLS CA dev 2026-12-01', validDays: 3650, now: T0 });
    const { store, run } = setup();
    store.beforeWrite = (secretId, value) =>
      secretId === CA_SECRET
        ? JSON.stringify({ certificate: winner.certificatePem, privateKey: winner.privateKeyPem })
        : value;
    const result = await run(T0);
    expect(result.caCertificatePem).toBe(winner.certificatePem);
    expect(await isIssuedBy(store.json(SERVER_SECRET).certificate as string, winner.certificatePem)).toBe(
      true,
    );
    expect(store.json(SERVER_SECRET).ca).toBe(winner.certificatePem);
  });

  it('never logs or returns a private key', async () => {
    const { store, log, run } = setup();
    const results: CertificateResult[] = [];
    results.push(await run(T0));
    const firstServerKey = store.json(SERVER_SECRET).privateKey as string;
    results.push(await run(at(320)));
    results.push(await run(at(321), { dnsNames: ['redis.internal'] }));
    results.push(await run(at(3600)));
    const keys = [
      store.json(CA_SECRET).privateKey as string,
      firstServerKey,
      ...store.writes.map((write) => JSON.parse(write.value).privateKey as string),
    ];
    expect(log.lines.length).toBeGreaterThan(5);
    const everything = `${log.text()}\n${JSON.stringify(results)}`;
    expect(everything).not.toContain('PRIVATE KEY');
    for (const key of keys) {
      expect(pemBody(key).length).toBeGreaterThan(100);
      expect(everything).not.toContain(pemBody(key).slice(0, 40));
    }
  });

  it('fails with the secret and the operation when a secret cannot be read', async () => {
    secretsMock.on(GetSecretValueCommand).rejects(
      Object.assign(new Error('User is not authorized to perform secretsmanager:GetSecretValue'), {
        name: 'AccessDeniedException',
      }),
    );
    const log = recordingLogger();
    await expect(
      ensureCertificates({ secrets, ecs, logger: log.logger, now: () => T0 }, settings),
    ).rejects.toThrow(`could not read secret ${CA_SECRET} (GetSecretValue): User is not authorized`);
  });

  it('refuses settings that would renew at every run', async () => {
    const { run } = setup();
    await expect(run(T0, { serverValidDays: 30, renewBeforeDays: 30 })).rejects.toThrow(
      /renewBeforeDays \(30\) must be .* less than serverValidDays \(30\)/,
    );
    await expect(run(T0, { dnsNames: [] })).rejects.toThrow(/at least one DNS name/);
  });
});
