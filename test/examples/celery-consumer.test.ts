import { execFile, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { Stack } from 'aws-cdk-lib';
import { Annotations, Match, Template } from 'aws-cdk-lib/assertions';
import Redis from 'ioredis';
import { createCeleryApp, NETWORKS } from '../../examples/celery-consumer/bin/app';
import {
  CELERY_URLS_SCRIPT,
  CeleryWorkerStack,
  REDIS_CA_FILE,
} from '../../examples/celery-consumer/lib/celery-worker-stack';
import { ioredisOptions, tlsFromEnvironment } from '../../lambda/shared/redis-connection';
import { devConfig } from '../../lib/config';
import {
  APPLICATION_ACCESS_STRING,
  DISABLED_DEFAULT_ACCESS_STRING,
  ELASTICACHE_APPLICATION_USER,
  ELASTICACHE_MONITOR_USER,
  MONITOR_ACCESS_STRING,
} from '../../lib/constructs/elasticache/access-strings';
import { connectionParameterPath } from '../../lib/constructs/redis-connection-contract';
import { freePort } from '../../ops/local/ports';
import { PASSWORDS, RedisProcess } from '../../ops/local/redis-process';
import { makeTempDir, removeTempDir } from '../../ops/local/temp-dir';
import { logicalId, type SynthesizedApp, synthesize } from '../lib/synth';
import { makeCertificates, type TestCertificates } from '../support/tls';

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

/** Celery's app module (tasks.py), a caller (call.py) and a connection probe (probe.py) in `dir`. */
function writeCeleryApp(dir: string): void {
  writeFileSync(
    join(dir, 'tasks.py'),
    "import os\nfrom celery import Celery\napp = Celery('tasks', broker=os.environ['CELERY_BROKER_URL'], backend=os.environ['CELERY_RESULT_BACKEND'])\n@app.task\ndef add(x, y):\n    return x + y\n",
  );
  writeFileSync(join(dir, 'call.py'), 'from tasks import add\nprint(add.delay(20, 22).get(timeout=30))\n');
  // Connects as Celery does, once, without its retries (kombu's wait 2 s between two): the broker
  // (kombu's channel, which PINGs) and the result backend (redis-py's client), each `ok` or why not.
  writeFileSync(
    join(dir, 'probe.py'),
    [
      'from tasks import app',
      'def check(name, connect):',
      '    try:',
      '        connect()',
      "        print(f'{name}: ok')",
      '    except Exception as error:',
      "        print(f'{name}: {type(error).__name__}: {error}')",
      'def broker():',
      '    with app.connection_for_write() as connection:',
      '        connection.ensure_connection(max_retries=0)',
      '        connection.channel()',
      "check('broker', broker)",
      "check('backend', lambda: app.backend.client.ping())",
      '',
    ].join('\n'),
  );
}

/** What ECS gives the container (environment and the REDIS_PASSWORD secret), and Python's path. */
function consumerEnv(dir: string, redis: Record<string, string>): NodeJS.ProcessEnv {
  return { PATH: process.env.PATH, PYTHONPATH: dir, ...redis };
}

/**
 * CELERY_URLS_SCRIPT with its CA file in `dir` instead of the container's /tmp/redis-ca.pem, so that
 * runs on one machine (parallel jobs, other users) never share or overwrite one file.
 */
const scriptIn = (dir: string) => CELERY_URLS_SCRIPT.replaceAll(REDIS_CA_FILE, join(dir, 'redis-ca.pem'));

/** `command`, run by CELERY_URLS_SCRIPT (CA file in `dir`) as the container's entry point runs it. */
const throughScript = (dir: string, ...command: string[]) => ['-c', scriptIn(dir), 'celery-urls', ...command];

/** A real Celery worker and a caller, both started by the script: the result of add(20, 22). */
async function roundTrip(dir: string, env: NodeJS.ProcessEnv): Promise<string> {
  const worker = spawn(
    'sh',
    throughScript(
      dir,
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
    { cwd: dir, env, stdio: 'ignore' },
  );
  try {
    const { stdout } = await promisify(execFile)('sh', throughScript(dir, '/usr/bin/python3', 'call.py'), {
      cwd: dir,
      env,
      timeout: 45_000,
    });
    return stdout.trim();
  } finally {
    worker.kill('SIGKILL');
  }
}

/** probe.py through the script: `broker: ok` / `backend: ok`, or why each failed. */
async function probe(dir: string, env: NodeJS.ProcessEnv): Promise<string> {
  const { stdout } = await promisify(execFile)('sh', throughScript(dir, '/usr/bin/python3', 'probe.py'), {
    cwd: dir,
    env,
    timeout: 30_000,
  });
  return stdout.trim();
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
    // The container writes the CA to /tmp/redis-ca.pem; the runs below write it to a temp dir.
    expect(CELERY_URLS_SCRIPT).toContain(`> ${REDIS_CA_FILE}`);
    expect(CELERY_URLS_SCRIPT).toContain(`ssl_ca_certs=${REDIS_CA_FILE}&`);
    const dir = mkdtempSync(join(tmpdir(), 'celery-urls-'));
    try {
      // The script, run by a real shell with what ECS injects, then a command in place of Celery.
      const printed = execFileSync(
        'sh',
        throughScript(dir, 'sh', '-c', 'echo "$CELERY_BROKER_URL $CELERY_RESULT_BACKEND"'),
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
      const url = `rediss://default:Abc123xyz@redis.dev.emailclient.internal:6380/0?ssl_cert_reqs=required&ssl_ca_certs=${join(dir, 'redis-ca.pem')}&ssl_check_hostname=true`;
      expect(printed.trim()).toBe(`${url} ${url}`);
      expect(readFileSync(join(dir, 'redis-ca.pem'), 'utf8')).toContain('MIIB');
      // A missing variable stops the container instead of starting Celery with a broken URL.
      expect(() =>
        execFileSync('sh', throughScript(dir, 'true'), {
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
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
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
    try {
      writeCeleryApp(dir);
      // What ECS gives the container, as the stage publishes it (ca-bundle = the CA's PEM).
      const env = consumerEnv(dir, {
        REDIS_HOST: 'localhost',
        REDIS_PORT: String(tlsPort),
        REDIS_USER: 'default',
        REDIS_PASSWORD: PASSWORDS.default,
        REDIS_CA_PEM: certs.pem.ca,
      });
      expect(await roundTrip(dir, env)).toBe('42');
    } finally {
      await redis.cleanup();
      removeTempDir(dir);
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

// A Celery team changes NOTHING when its stage moves to ElastiCache: the same script, with what the
// stage then publishes (its host name, TLS port, CA bundle and the user `app`), against a real
// TLS-only redis-server holding ElastiCache's user group: default switched off, app, monitor.
describe('the same consumer on an ElastiCache stage: TLS only, user app, default switched off', () => {
  /** Letters and digits: the alphabet of the stage's generated passwords (no URL escaping). */
  const PASSWORD = {
    app: 'ElastiCacheApp0123456789abcdefXYZ',
    monitor: 'ElastiCacheMonitor0123456789abcdef',
    default: 'ElastiCacheDefault0123456789abcdef',
  };
  let dir: string;
  let certs: TestCertificates;
  let tlsPort: number;
  let redis: RedisProcess | undefined;

  /** `ACL SETUSER <name> <access string> >password`, as ElastiCache applies a user. */
  const setUser = (client: Redis, name: string, accessString: string, password: string) =>
    client.call('ACL', 'SETUSER', name, ...accessString.split(/\s+/), `>${password}`);

  beforeAll(async () => {
    dir = makeTempDir('consumer-elasticache');
    certs = makeCertificates(dir);
    tlsPort = await freePort();
    redis = await RedisProcess.start({
      env: {
        REDIS_TLS: 'required',
        REDIS_TLS_PORT: String(tlsPort),
        REDIS_TLS_CERT: certs.pem.cert,
        REDIS_TLS_KEY: certs.pem.key,
        REDIS_TLS_CA: certs.pem.ca,
        REDIS_RUNTIME_DIR: join(dir, 'runtime'),
      },
      // 127.0.0.2 too: an address the certificate does not name.
      extraArgs: ['--bind', '127.0.0.1 127.0.0.2'],
    });
    const tls = { ca: certs.pem.ca, servername: 'localhost' };
    const admin = redis.client('default', { port: tlsPort, tls });
    await admin.call('ACL', 'DELUSER', 'monitor', 'backup', 'healthcheck', 'operator');
    await setUser(admin, ELASTICACHE_APPLICATION_USER, APPLICATION_ACCESS_STRING, PASSWORD.app);
    await setUser(admin, ELASTICACHE_MONITOR_USER, MONITOR_ACCESS_STRING, PASSWORD.monitor);
    const app = new Redis(
      ioredisOptions({
        host: 'localhost',
        port: tlsPort,
        username: ELASTICACHE_APPLICATION_USER,
        password: PASSWORD.app,
        tls: tlsFromEnvironment('localhost', { REDIS_TLS_CA: certs.pem.ca }),
      }),
    );
    try {
      await app.connect();
      await app.call('ACL', 'SETUSER', 'default', 'reset');
      await setUser(app, 'default', DISABLED_DEFAULT_ACCESS_STRING, PASSWORD.default);
      expect(await app.call('ACL', 'USERS')).toEqual(['app', 'default', 'monitor']);
    } finally {
      app.disconnect();
    }
    writeCeleryApp(dir);
  }, 30_000);
  afterAll(async () => {
    await redis?.cleanup();
    if (dir) removeTempDir(dir);
  });

  /** What ECS gives the worker on the ElastiCache stage, with `overrides`. */
  const stageEnv = (overrides: Record<string, string> = {}) =>
    consumerEnv(dir, {
      REDIS_HOST: 'localhost',
      REDIS_PORT: String(tlsPort),
      REDIS_USER: ELASTICACHE_APPLICATION_USER,
      REDIS_PASSWORD: PASSWORD.app,
      REDIS_CA_PEM: certs.pem.ca,
      ...overrides,
    });

  it('the unchanged script with REDIS_USER=app: a real worker and caller round-trip a task', async () => {
    expect(await roundTrip(dir, stageEnv())).toBe('42');
  }, 90_000);

  it('the settings are really used: another CA, user default or no user at all are refused', async () => {
    expect(await probe(dir, stageEnv())).toBe('broker: ok\nbackend: ok');
    const other = makeCertificates(dir, 'other');
    const refusals = {
      'another CA': await probe(dir, stageEnv({ REDIS_CA_PEM: other.pem.ca })),
      'default, app password': await probe(dir, stageEnv({ REDIS_USER: 'default' })),
      'default, its own password': await probe(
        dir,
        stageEnv({ REDIS_USER: 'default', REDIS_PASSWORD: PASSWORD.default }),
      ),
      // The container's URL form (`rediss://:PASSWORD@...`): AUTH <password> is AUTH as default.
      'no user': await probe(dir, stageEnv({ REDIS_USER: '' })),
    };
    const certificate = /^broker: .*CERTIFICATE_VERIFY_FAILED.*\nbackend: .*CERTIFICATE_VERIFY_FAILED/;
    const disabled =
      /^broker: .*invalid username-password pair or user is disabled.*\nbackend: .*invalid username-password pair or user is disabled/;
    expect(refusals).toEqual({
      'another CA': expect.stringMatching(certificate),
      'default, app password': expect.stringMatching(disabled),
      'default, its own password': expect.stringMatching(disabled),
      'no user': expect.stringMatching(disabled),
    });
  }, 60_000);

  // Celery 5.2 / kombu 5.2 / redis-py 4.3 verify only the chain with ssl_cert_reqs=required (redis-py's
  // ssl_check_hostname defaults to False); the script's URLs say ssl_check_hostname=true, which both
  // kombu and the result backend honour. On ElastiCache the bundle is Amazon's public roots, which
  // sign every ElastiCache endpoint: without the host name check any of them would do.
  it('the host name is verified too: an address the certificate does not name is refused', async () => {
    const answer = await probe(dir, stageEnv({ REDIS_HOST: '127.0.0.2' }));
    expect(answer).toMatch(/^broker: .*CERTIFICATE_VERIFY_FAILED.*\nbackend: .*CERTIFICATE_VERIFY_FAILED/);
  }, 60_000);
});
