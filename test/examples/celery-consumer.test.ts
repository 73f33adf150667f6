import { execFile, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Stack } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import { createCeleryApp, NETWORKS } from '../../examples/celery-consumer/bin/app';
import {
  CELERY_URLS_SCRIPT,
  CeleryWorkerStack,
} from '../../examples/celery-consumer/lib/celery-worker-stack';
import { devConfig } from '../../lib/config';
import { connectionParameterPath } from '../../lib/constructs/redis-connection-contract';
import { freePort } from '../../ops/local/ports';
import { PASSWORDS, RedisProcess } from '../../ops/local/redis-process';
import { makeTempDir } from '../../ops/local/temp-dir';
import { logicalId, type SynthesizedApp, synthesize } from '../lib/synth';
import { makeCertificates } from '../support/tls';

type Json = Record<string, unknown>;

/**
 * The consumer's side of the connection contract: a second CDK app, as another repository would
 * write it, that knows a stage only through its SSM parameters. The drift test compares what it
 * reads with what the dev stage publishes.
 */
const DEV_PATH = '/emailclient/redis/dev/';
const EXAMPLE_DIR = join(__dirname, '..', '..', 'examples', 'celery-consumer');

let consumerOutdir: string;
let template: Template;
let worker: CeleryWorkerStack;
let stage: SynthesizedApp;
/** Template parameter id of each SSM parameter the consumer reads, by parameter name. */
let readParameters: Map<string, string>;
/** What the consumer's synthesis printed on stderr. */
const printed: string[] = [];

beforeAll(() => {
  consumerOutdir = mkdtempSync(join(tmpdir(), 'celery-consumer-test-'));
  // With the example's cdk.json context (its feature flags), as `cdk synth` in its folder would run.
  const { context } = JSON.parse(readFileSync(join(EXAMPLE_DIR, 'cdk.json'), 'utf8'));
  const app = createCeleryApp({ outdir: consumerOutdir, context });
  // Synthesis prints its validation report (warnings included) on stderr: keep it for a test.
  const consoleError = console.error;
  console.error = (...args: unknown[]) => printed.push(args.map(String).join(' '));
  try {
    app.synth();
  } finally {
    console.error = consoleError;
  }
  const found = app.node.tryFindChild('CeleryWorker-dev');
  if (!(found instanceof CeleryWorkerStack)) throw new Error('no CeleryWorker-dev stack');
  worker = found;
  template = Template.fromStack(worker);
  const parameters = template.toJSON().Parameters as Record<string, { Type: string; Default?: string }>;
  readParameters = new Map(
    Object.entries(parameters)
      // CDK's own bootstrap version check, not the Redis contract.
      .filter(([id, parameter]) => id !== 'BootstrapVersion' && parameter.Type.startsWith('AWS::SSM::'))
      .map(([id, parameter]) => [String(parameter.Default), id]),
  );
  stage = synthesize({ stages: [devConfig] });
});
afterAll(() => {
  stage?.cleanup();
  if (consumerOutdir) rmSync(consumerOutdir, { recursive: true, force: true });
});

/** `{ Ref: <template parameter> }` of the SSM parameter `name` under the dev path. */
function ref(name: string): { Ref: string } {
  const id = readParameters.get(`${DEV_PATH}${name}`);
  if (!id) throw new Error(`the consumer does not read ${DEV_PATH}${name}`);
  return { Ref: id };
}

function resources(type: string): Json[] {
  return Object.values(template.toJSON().Resources as Record<string, { Type: string; Properties: Json }>)
    .filter((resource) => resource.Type === type)
    .map((resource) => resource.Properties);
}

function container(): Json {
  const [taskDefinition] = resources('AWS::ECS::TaskDefinition');
  const [definition] = (taskDefinition?.ContainerDefinitions ?? []) as Json[];
  if (!definition) throw new Error('no container definition');
  return definition;
}

describe('the Celery consumer app (another repository)', () => {
  it('synthesizes with its cdk.json feature flags, without a warning', () => {
    expect(printed).toEqual([]);
    const stacks = (worker.node.scope?.node.children ?? []).filter((child) => child instanceof Stack);
    expect(stacks.length).toBe(2);
    for (const stack of stacks) {
      expect(Annotations.fromStack(stack as Stack).findWarning('*', Match.anyValue())).toEqual([]);
    }
  });

  it('runs in the stage VPC as it is: isolated subnets, its image from a private ECR repository', () => {
    const [service] = resources('AWS::ECS::Service');
    const subnets = JSON.stringify(service?.NetworkConfiguration);
    for (const subnet of NETWORKS.dev?.isolatedSubnetIds ?? ['none']) expect(subnets).toContain(subnet);
    expect(JSON.stringify(container().Image)).toMatch(/dkr\.ecr\..*celery-worker:stable/);
  });

  it(`reads only SSM parameters under ${DEV_PATH}, resolved at deploy time`, () => {
    expect(connectionParameterPath('dev')).toBe(DEV_PATH);
    const parameters = template.toJSON().Parameters as Record<string, { Type: string; Default?: string }>;
    for (const id of readParameters.values()) {
      expect(parameters[id]?.Type).toBe('AWS::SSM::Parameter::Value<String>');
    }
    expect([...readParameters.keys()].sort()).toEqual(
      [
        'host',
        'tls-port',
        'tls',
        'ca-bundle',
        'user',
        'password-secret-arn',
        'kms-key-arn',
        'client-security-group-id',
        'vpc-id',
        'contract-version',
      ]
        .map((name) => `${DEV_PATH}${name}`)
        .sort(),
    );
  });

  it('reads only names the dev stage publishes (drift between the two sides)', () => {
    const published = Object.values(
      stage.template('Dev').toJSON().Resources as Record<string, { Type: string; Properties: Json }>,
    )
      .filter((resource) => resource.Type === 'AWS::SSM::Parameter')
      .map((resource) => String(resource.Properties.Name));
    const unpublished = [...readParameters.keys()].filter((name) => !published.includes(name));
    expect(unpublished).toEqual([]);
  });

  it("joins the client security group from SSM, beside the worker's own group", () => {
    const [service = {}] = resources('AWS::ECS::Service');
    const groups = (service.NetworkConfiguration as Json).AwsvpcConfiguration as Json;
    expect(groups.SecurityGroups).toEqual([
      { 'Fn::GetAtt': [expect.stringMatching(/^SecurityGroup/), 'GroupId'] },
      ref('client-security-group-id'),
    ]);
    // Never a rule on the Redis stack's group.
    const rules = [
      ...resources('AWS::EC2::SecurityGroupIngress'),
      ...resources('AWS::EC2::SecurityGroupEgress'),
    ];
    expect(JSON.stringify(rules)).not.toContain(ref('client-security-group-id').Ref);
  });

  it('gets REDIS_PASSWORD as an ECS secret from the ARN in SSM, and the rest as environment', () => {
    expect(container().Secrets).toEqual([{ Name: 'REDIS_PASSWORD', ValueFrom: ref('password-secret-arn') }]);
    expect(container().Environment).toEqual(
      expect.arrayContaining([
        { Name: 'REDIS_HOST', Value: ref('host') },
        { Name: 'REDIS_PORT', Value: ref('tls-port') },
        { Name: 'REDIS_USER', Value: ref('user') },
      ]),
    );
    expect(JSON.stringify(container().Environment)).not.toContain('PASSWORD');
    expect(JSON.stringify(template.toJSON())).not.toMatch(/resolve:secretsmanager/);
  });

  it('lets the execution role read the secret and decrypt it with the key from SSM', () => {
    const executionRole = worker.service.taskDefinition.executionRole;
    if (!executionRole) throw new Error('no execution role');
    const executionRoleId = logicalId(executionRole);
    const statements = resources('AWS::IAM::Policy')
      .filter((policy) => JSON.stringify(policy.Roles) === JSON.stringify([{ Ref: executionRoleId }]))
      .flatMap((policy) => (policy.PolicyDocument as { Statement: Json[] }).Statement);
    expect(statements).toEqual(
      expect.arrayContaining([
        {
          Effect: 'Allow',
          Action: 'kms:Decrypt',
          Resource: ref('kms-key-arn'),
          Condition: {
            StringEquals: {
              'kms:ViaService': {
                'Fn::Join': ['', ['secretsmanager.', { Ref: 'AWS::Region' }, '.amazonaws.com']],
              },
            },
          },
        },
        {
          Effect: 'Allow',
          Action: ['secretsmanager:DescribeSecret', 'secretsmanager:GetSecretValue'],
          Resource: ref('password-secret-arn'),
        },
      ]),
    );
  });

  it('builds CELERY_BROKER_URL and CELERY_RESULT_BACKEND at container start, then runs the command', () => {
    expect(container().EntryPoint).toEqual(['sh', '-c', CELERY_URLS_SCRIPT, 'celery-urls']);
    expect(container().Command).toEqual([
      'celery',
      '-A',
      'email_service.celery_app',
      'worker',
      '--loglevel=INFO',
    ]);
    // The script, run by a real shell with what ECS injects, then a command in place of Celery.
    const printed = execFileSync(
      'sh',
      [
        '-c',
        CELERY_URLS_SCRIPT,
        'celery-urls',
        'sh',
        '-c',
        'echo "$CELERY_BROKER_URL $CELERY_RESULT_BACKEND"',
      ],
      {
        encoding: 'utf8',
        env: {
          PATH: process.env.PATH,
          REDIS_HOST: 'redis.dev.emailclient.internal',
          REDIS_PORT: '6380',
          REDIS_USER: 'default',
          REDIS_PASSWORD: 'Abc123xyz',
          REDIS_CA_PEM: '-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----',
        },
      },
    );
    const url =
      'rediss://default:Abc123xyz@redis.dev.emailclient.internal:6380/0?ssl_cert_reqs=required&ssl_ca_certs=/tmp/redis-ca.pem';
    expect(printed.trim()).toBe(`${url} ${url}`);
    // A missing variable stops the container instead of starting Celery with a broken URL.
    expect(() =>
      execFileSync('sh', ['-c', CELERY_URLS_SCRIPT, 'celery-urls', 'true'], {
        env: {
          PATH: process.env.PATH,
          REDIS_HOST: 'h',
          REDIS_PORT: '6380',
          REDIS_USER: 'default',
          REDIS_PASSWORD: 'p',
        },
        stdio: 'pipe',
      }),
    ).toThrow();
  });

  it('those URLs work: a real Celery worker and caller, started by the script, round-trip a task over TLS', async () => {
    const dir = makeTempDir('consumer-tls');
    const certs = makeCertificates(dir);
    const tlsPort = await freePort();
    const redis = await RedisProcess.start({
      env: {
        REDIS_TLS: 'required',
        REDIS_TLS_PORT: String(tlsPort),
        REDIS_TLS_CERT: certs.pem.cert,
        REDIS_TLS_KEY: certs.pem.key,
        REDIS_TLS_CA: certs.pem.ca,
        REDIS_RUNTIME_DIR: join(dir, 'tls'),
      },
    });
    writeFileSync(
      join(dir, 'tasks.py'),
      "import os\nfrom celery import Celery\napp = Celery('tasks', broker=os.environ['CELERY_BROKER_URL'], backend=os.environ['CELERY_RESULT_BACKEND'])\n@app.task\ndef add(x, y):\n    return x + y\n",
    );
    writeFileSync(join(dir, 'call.py'), 'from tasks import add\nprint(add.delay(20, 22).get(timeout=30))\n');
    // What ECS gives the container, as the stage publishes it (ca-bundle = the CA's PEM).
    const env = {
      PATH: process.env.PATH,
      PYTHONPATH: dir,
      REDIS_HOST: 'localhost',
      REDIS_PORT: String(tlsPort),
      REDIS_USER: 'default',
      REDIS_PASSWORD: PASSWORDS.default,
      REDIS_CA_PEM: certs.pem.ca,
    };
    const script = (...command: string[]) => ['-c', CELERY_URLS_SCRIPT, 'celery-urls', ...command];
    const worker = spawn(
      'sh',
      script(
        '/usr/bin/python3',
        '-m',
        'celery',
        '-A',
        'tasks',
        'worker',
        '--pool',
        'solo',
        '--loglevel',
        'WARNING',
      ),
      {
        cwd: dir,
        env,
        stdio: 'ignore',
      },
    );
    try {
      const { stdout } = await promisify(execFile)('sh', script('/usr/bin/python3', 'call.py'), {
        cwd: dir,
        env,
        timeout: 45_000,
      });
      expect(stdout.trim()).toBe('42');
    } finally {
      worker.kill('SIGKILL');
      await redis.cleanup();
    }
  }, 90_000);

  it('refuses to deploy against another contract version, a stage without TLS or another VPC', () => {
    const rule = (template.toJSON().Rules as Record<string, { Assertions: { Assert: unknown }[] }>)
      .RedisContract;
    expect(rule?.Assertions.map((assertion) => assertion.Assert)).toEqual([
      { 'Fn::Equals': [ref('contract-version'), '1'] },
      { 'Fn::Contains': [['transitional', 'required'], ref('tls')] },
      { 'Fn::Equals': [ref('vpc-id'), NETWORKS.dev?.vpcId] },
    ]);
  });
});
