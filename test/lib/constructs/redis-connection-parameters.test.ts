import type { Template } from 'aws-cdk-lib/assertions';
import {
  CONNECTION_CONTRACT_VERSION,
  CONNECTION_PARAMETER,
  connectionParameterPath,
  OPTIONAL_CONNECTION_PARAMETER,
} from '../../../lib/constructs/redis-connection-contract';
import type { RedisStack } from '../../../lib/stacks/redis-stack';
import { caCertificateRef, logicalId, STAGE_CONFIG, STAGES, type SynthesizedApp, synthesize } from '../synth';

type Json = Record<string, unknown>;

let synthesized: SynthesizedApp;
beforeAll(() => {
  synthesized = synthesize();
});
afterAll(() => synthesized?.cleanup());

/** Every SSM parameter of a template, by its Name. */
function ssmParameters(template: Template): Map<string, Json> {
  const resources = template.toJSON().Resources as Record<string, { Type: string; Properties: Json }>;
  return new Map(
    Object.values(resources)
      .filter((resource) => resource.Type === 'AWS::SSM::Parameter')
      .map((resource) => [String(resource.Properties.Name), resource.Properties]),
  );
}

describe.each(STAGES)('%s/Redis connection parameters', (stageName) => {
  const config = STAGE_CONFIG[stageName];
  const path = `/emailclient/redis/${config.envName}/`;
  let stack: RedisStack;
  let parameters: Map<string, Json>;
  beforeAll(() => {
    stack = synthesized.stage(stageName).redisStack;
    parameters = ssmParameters(synthesized.template(stageName));
  });
  const published = (name: string): unknown => parameters.get(`${path}${name}`)?.Value;

  it(`publishes exactly the contract's names under ${path}`, () => {
    expect(connectionParameterPath(config.envName)).toBe(path);
    expect([...parameters.keys()].sort()).toEqual(
      [
        'host',
        'port',
        'tls',
        'user',
        'password-secret-arn',
        'kms-key-arn',
        'client-security-group-id',
        'vpc-id',
        'contract-version',
        // TLS is required in every real stage: the CA and the TLS port.
        'ca-bundle',
        'tls-port',
      ]
        .map((name) => `${path}${name}`)
        .sort(),
    );
  });

  it('publishes standard-tier String parameters, each with a description', () => {
    for (const [name, properties] of parameters) {
      expect({ name, type: properties.Type, tier: properties.Tier, dataType: properties.DataType }).toEqual({
        name,
        type: 'String',
        tier: 'Standard',
        dataType: 'text',
      });
      expect(String(properties.Description)).toMatch(new RegExp(`^Redis \\(${config.envName}\\): .{15,}`));
    }
  });

  it('publishes the Cloud Map host name, the TLS port 6380, TLS required, the default user and contract version 1', () => {
    expect(published(CONNECTION_PARAMETER.host)).toBe(`redis.${config.dnsNamespace}`);
    expect(published(CONNECTION_PARAMETER.host)).toBe(stack.redis.hostName);
    expect(published(CONNECTION_PARAMETER.port)).toBe('6380');
    expect(published(CONNECTION_PARAMETER.port)).toBe(String(stack.redis.port));
    expect(published(CONNECTION_PARAMETER.tls)).toBe('required');
    expect(published(OPTIONAL_CONNECTION_PARAMETER.tlsPort)).toBe('6380');
    expect(published(CONNECTION_PARAMETER.user)).toBe('default');
    expect(published(CONNECTION_PARAMETER.contractVersion)).toBe(CONNECTION_CONTRACT_VERSION);
    expect(CONNECTION_CONTRACT_VERSION).toBe('1');
  });

  it("references the stage's password secret, key, client group and VPC", () => {
    expect(published(CONNECTION_PARAMETER.passwordSecretArn)).toEqual({
      Ref: logicalId(stack.redis.secrets.password),
    });
    expect(logicalId(stack.redis.secrets.password)).toBe('SecretsRedisPassword3A621B46');
    expect(published(CONNECTION_PARAMETER.kmsKeyArn)).toEqual({
      'Fn::GetAtt': [logicalId(stack.redis.kmsKey), 'Arn'],
    });
    expect(published(CONNECTION_PARAMETER.clientSecurityGroupId)).toEqual({
      'Fn::GetAtt': ['SecurityGroupsClientBC1399B6', 'GroupId'],
    });
    expect(published(CONNECTION_PARAMETER.vpcId)).toEqual(stack.resolve(stack.redis.vpc.vpcId));
    expect(published(CONNECTION_PARAMETER.vpcId)).toEqual({ Ref: expect.stringMatching(/^NetworkVpc/) });
  });

  it("publishes the stage CA's certificate as ca-bundle: what the certificate custom resource returns", () => {
    expect(published(OPTIONAL_CONNECTION_PARAMETER.caBundle)).toEqual(caCertificateRef(stack));
    expect(caCertificateRef(stack)).toEqual({
      'Fn::GetAtt': ['RedisTlsCertificates976C9D7B', 'CaCertificate'],
    });
    expect(parameters.get(`${path}ca-bundle`)?.Description).toMatch(/PEM of the stage's CA/);
  });

  it('holds no secret value: no dynamic reference, and secrets only by ARN', () => {
    const values = JSON.stringify([...parameters.values()].map((properties) => properties.Value));
    expect(values).not.toMatch(/resolve:secretsmanager|SecretString|GenerateSecretString|PRIVATE KEY/i);
    // The TLS secrets too: the CA secret holds the CA's private key; no parameter may name either.
    const tls = stack.redis.tls;
    const secretIds = [...stack.redis.secrets.all, ...(tls ? [tls.caSecret, tls.serverSecret] : [])].map(
      (secret) => logicalId(secret),
    );
    expect(secretIds).toHaveLength(5);
    for (const [name, properties] of parameters) {
      const mentioned = secretIds.filter((id) => JSON.stringify(properties.Value).includes(id));
      expect({ name, mentioned }).toEqual({
        name,
        mentioned: name.endsWith('/password-secret-arn') ? [secretIds[0]] : [],
      });
    }
  });
});
