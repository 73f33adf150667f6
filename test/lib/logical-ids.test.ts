import type { CfnElement } from 'aws-cdk-lib';
import { STAGES, type SynthesizedApp, synthesize } from './synth';

/**
 * Logical ids of the stateful resources, pinned. A refactor that changes one (renamed or moved
 * construct) makes CloudFormation REPLACE the resource: a new, empty file system; new passwords; a
 * new key (and, after its pending window, an unreadable retained file system); a new client security
 * group under every consumer. If this test fails, the change needs a migration plan, not a new
 * expected value.
 */
const STATEFUL_LOGICAL_IDS: Record<string, string> = {
  Key9BCD29C7: 'AWS::KMS::Key',
  StorageFileSystemFFD87EE1: 'AWS::EFS::FileSystem',
  StorageFileSystemAccessPointF5BF1E1D: 'AWS::EFS::AccessPoint',
  SecretsRedisPassword3A621B46: 'AWS::SecretsManager::Secret',
  SecretsBackupPasswordE07B9A2D: 'AWS::SecretsManager::Secret',
  SecretsMonitorPasswordBC190EC9: 'AWS::SecretsManager::Secret',
  SecurityGroupsClientBC1399B6: 'AWS::EC2::SecurityGroup',
  RedisExecAuditLogs6FE19DA4: 'AWS::Logs::LogGroup',
  BackupBucketBC94E555: 'AWS::S3::Bucket',
  BackupAccessLogs0B47D8EE: 'AWS::S3::Bucket',
  // Replacing the alarm topic drops its confirmed e-mail subscription: on-call stops getting alarms.
  MonitoringAlarmTopicAF62D4F1: 'AWS::SNS::Topic',
  // A new CA secret is a new, empty CA: the function issues a new CA, every consumer's pinned
  // ca-bundle stops verifying Redis. A new server secret starts Redis on a placeholder (no certificate).
  RedisTlsCaSecret2E6D11E7: 'AWS::SecretsManager::Secret',
  RedisTlsServerSecretFB52CE50: 'AWS::SecretsManager::Secret',
};

/**
 * The stateful resources of a stage that rotates its passwords (passwordRotationDays set: Staging,
 * Prod). A replaced rotator secret is a new rotator password (and ARN): Redis is restarted to learn
 * it, and a retained old one lingers. A changed generator is worse: CloudFormation writes a new value
 * into the same secret, the running Redis keeps the old one, and every rotation fails to log in
 * until Redis restarts.
 */
const ROTATION_LOGICAL_IDS: Record<string, string> = {
  PasswordRotationRotatorPasswordD8A93FFA: 'AWS::SecretsManager::Secret',
};

/** The stages that rotate their passwords. */
const ROTATING_STAGES: readonly string[] = ['Staging', 'Prod'];

/** A stage's pinned stateful logical ids. */
function statefulLogicalIds(stageName: string): Record<string, string> {
  return ROTATING_STAGES.includes(stageName)
    ? { ...STATEFUL_LOGICAL_IDS, ...ROTATION_LOGICAL_IDS }
    : STATEFUL_LOGICAL_IDS;
}

/** The TLS secrets' placeholder generator (RedisTls): the certificate function overwrites the value. */
const TLS_PLACEHOLDER = {
  SecretStringTemplate: '{}',
  GenerateStringKey: 'placeholder',
  ExcludePunctuation: true,
};

let synthesized: SynthesizedApp;
beforeAll(() => {
  synthesized = synthesize();
});
afterAll(() => synthesized?.cleanup());

describe.each(STAGES)('%s/Redis', (stageName) => {
  it.each(Object.entries(STATEFUL_LOGICAL_IDS))('keeps %s (%s)', (logicalId, type) => {
    const resources = synthesized.template(stageName).toJSON().Resources as Record<string, { Type: string }>;
    expect(resources[logicalId]?.Type).toBe(type);
  });

  it.each(Object.entries(ROTATION_LOGICAL_IDS))(
    'keeps %s (%s) where passwords rotate, and has none where they do not',
    (logicalId, type) => {
      const resources = synthesized.template(stageName).toJSON().Resources as Record<
        string,
        { Type: string }
      >;
      expect(resources[logicalId]?.Type).toBe(ROTATING_STAGES.includes(stageName) ? type : undefined);
      const stack = synthesized.stage(stageName).redisStack;
      if (stack.passwordRotation) {
        const rotator = stack.passwordRotation.rotatorSecret;
        expect(stack.resolve(stack.getLogicalId(rotator.node.defaultChild as CfnElement))).toBe(logicalId);
      }
      expect(stack.passwordRotation !== undefined).toBe(ROTATING_STAGES.includes(stageName));
    },
  );

  it('has no other file system, key or secret that a refactor could have created', () => {
    const resources = synthesized.template(stageName).toJSON().Resources as Record<string, { Type: string }>;
    const stateful = Object.entries(resources)
      .filter(([, resource]) =>
        ['AWS::KMS::Key', 'AWS::EFS::FileSystem', 'AWS::SecretsManager::Secret', 'AWS::S3::Bucket'].includes(
          resource.Type,
        ),
      )
      .map(([id]) => id)
      .sort();
    expect(stateful).toEqual(
      Object.entries(statefulLogicalIds(stageName))
        .filter(([, type]) =>
          [
            'AWS::KMS::Key',
            'AWS::EFS::FileSystem',
            'AWS::SecretsManager::Secret',
            'AWS::S3::Bucket',
          ].includes(type),
        )
        .map(([id]) => id)
        .sort(),
    );
  });

  it('keeps the password generator settings: changing them makes CloudFormation generate NEW passwords', () => {
    // A new GenerateSecretString rotates all three passwords on the next deploy without restarting
    // Redis, and every client that restarts afterwards is locked out. Change it only with a plan.
    // For the TLS secrets it is worse: CloudFormation overwrites the CA (its key included) and
    // Redis's certificate with a new placeholder, and the custom resource does not run again.
    const secrets = synthesized.template(stageName).findResources('AWS::SecretsManager::Secret');
    const generators = Object.fromEntries(
      Object.entries(secrets).map(([id, secret]) => [
        id,
        (secret as { Properties: { GenerateSecretString: unknown } }).Properties.GenerateSecretString,
      ]),
    );
    const password = { PasswordLength: 64, ExcludePunctuation: true, IncludeSpace: false };
    expect(generators).toEqual({
      SecretsRedisPassword3A621B46: password,
      SecretsBackupPasswordE07B9A2D: password,
      SecretsMonitorPasswordBC190EC9: password,
      RedisTlsCaSecret2E6D11E7: TLS_PLACEHOLDER,
      RedisTlsServerSecretFB52CE50: TLS_PLACEHOLDER,
      ...(ROTATING_STAGES.includes(stageName) && { PasswordRotationRotatorPasswordD8A93FFA: password }),
    });
  });
});
