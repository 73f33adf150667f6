import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Stack, Token } from 'aws-cdk-lib';
import { createApp } from '../../bin/app';
import { devConfig, prodConfig } from '../../lib/config';
import { RedisStage } from '../../lib/stages/redis-stage';
import { CDK_JSON_CONTEXT, STAGES, type SynthesizedApp, synthesize } from '../lib/synth';

const REPO_ROOT = join(__dirname, '..', '..');

/** Every template of a synthesized app, by stack artifact id. */
function templates(synthesized: SynthesizedApp): Record<string, unknown> {
  const result: Record<string, unknown> = {};
  for (const stageName of STAGES) {
    const stage = synthesized.stage(stageName);
    const assembly = stage.synth();
    for (const stack of assembly.stacks) result[`${stageName}/${stack.id}`] = stack.template;
  }
  return result;
}

// The real synth bundles the functions (when a stage is synthesized) and says so on stderr, once
// per function: not a test result.
let quietBundling: jest.SpyInstance;
beforeAll(() => {
  const write = process.stderr.write.bind(process.stderr);
  quietBundling = jest
    .spyOn(process.stderr, 'write')
    .mockImplementation((chunk, ...rest) =>
      /^Bundling asset /.test(String(chunk)) ? true : write(chunk as string, ...(rest as [])),
    );
});
afterAll(() => quietBundling.mockRestore());

describe('the app', () => {
  let synthesized: SynthesizedApp;
  beforeAll(() => {
    synthesized = synthesize();
  });
  afterAll(() => synthesized?.cleanup());

  it('has one Stage per environment, each with its Redis stack (deploy with `cdk deploy <Stage>/*`)', () => {
    const stages = synthesized.app.node.children.filter((child) => child instanceof RedisStage);
    expect(stages.map((stage) => stage.node.id)).toEqual(['Dev', 'Staging', 'Prod']);
    for (const stage of stages) {
      const stacks = stage.node.children.filter((child) => child instanceof Stack);
      expect(stacks.map((stack) => [stack.node.path, stack.stackName])).toEqual([
        [`${stage.node.id}/Redis`, `${stage.node.id}-Redis`],
      ]);
    }
  });

  it('tags every stage', () => {
    for (const [stageName, envName] of [
      ['Dev', 'dev'],
      ['Staging', 'staging'],
      ['Prod', 'prod'],
    ] as const) {
      synthesized.template(stageName).hasResourceProperties('AWS::ECS::Cluster', {
        Tags: [
          { Key: 'managed-by', Value: 'aws-cdk' },
          { Key: 'project', Value: 'emailclient-redis' },
          { Key: 'stage', Value: envName },
        ],
      });
    }
  });

  it('is environment-agnostic without CDK_DEFAULT_ACCOUNT/REGION (synth needs no credentials)', () => {
    const stack = synthesized.stage('Dev').redisStack;
    expect(Token.isUnresolved(stack.account)).toBe(true);
    expect(Token.isUnresolved(stack.region)).toBe(true);
  });

  it('synthesizes deterministically: a second synth gives identical templates', () => {
    const again = synthesize();
    try {
      expect(templates(again)).toEqual(templates(synthesized));
      expect(JSON.stringify(templates(again))).toBe(JSON.stringify(templates(synthesized)));
    } finally {
      again.cleanup();
    }
  });
});

describe('stage environments', () => {
  // Building an App already writes to its outdir (stage assemblies, staged assets): give it a temp one.
  const outdir = mkdtempSync(join(tmpdir(), 'redis-cdk-env-'));
  afterAll(() => rmSync(outdir, { recursive: true, force: true }));

  it('take CDK_DEFAULT_ACCOUNT/REGION unless the config sets account/region', () => {
    const app = createApp({
      // cdk.json's feature flags, as every `cdk synth` has them.
      appProps: { autoSynth: false, outdir, context: CDK_JSON_CONTEXT },
      stages: [devConfig, { ...prodConfig, account: '222222222222', region: 'eu-central-1' }],
      env: { CDK_DEFAULT_ACCOUNT: '111111111111', CDK_DEFAULT_REGION: 'eu-west-1' },
    });
    const env = (name: string) => {
      const stack = (app.node.findChild(name) as RedisStage).redisStack;
      return [stack.account, stack.region];
    };
    expect(env('Dev')).toEqual(['111111111111', 'eu-west-1']);
    expect(env('Prod')).toEqual(['222222222222', 'eu-central-1']);
  });
});

describe('an invalid configuration', () => {
  it('fails before any construct exists, with every problem of every stage', () => {
    expect(() =>
      createApp({
        appProps: { autoSynth: false },
        stages: [
          { ...devConfig, maxmemory: '2gb' },
          {
            ...prodConfig,
            maxmemoryPolicy: 'lru' as typeof prodConfig.maxmemoryPolicy,
            clientCidrs: ['0.0.0.0/0'],
          },
        ],
        env: {},
      }),
    ).toThrow(
      /Invalid stage configuration \(3 problem\(s\)\):\n {2}- Stage 'Dev', field 'maxmemory', value "2gb": .*\n {2}- Stage 'Prod', field 'maxmemoryPolicy', value "lru": .*\n {2}- Stage 'Prod', field 'clientCidrs\[0\]', value "0\.0\.0\.0\/0": /,
    );
  });
});

describe('`npx cdk synth` (the CLI, no AWS credentials, no Docker)', () => {
  const outdir = mkdtempSync(join(tmpdir(), 'redis-cdk-cli-'));
  afterAll(() => rmSync(outdir, { recursive: true, force: true }));

  it('exits 0, writes every stage, and reports no cdk-nag finding', () => {
    const env: NodeJS.ProcessEnv = { ...process.env, CDK_DISABLE_VERSION_CHECK: 'true', CI: 'true' };
    for (const name of Object.keys(env))
      if (name.startsWith('AWS_') && name !== 'AWS_CA_BUNDLE') delete env[name];
    const result = spawnSync('npx', ['cdk', 'synth', '--quiet', '--output', outdir], {
      cwd: REPO_ROOT,
      env,
      encoding: 'utf8',
      timeout: 120_000,
    });
    expect({ status: result.status, stderr: result.status === 0 ? '' : result.stderr }).toEqual({
      status: 0,
      stderr: '',
    });
    expect(
      readdirSync(outdir)
        .filter((name) => name.startsWith('assembly-'))
        .sort(),
    ).toEqual(['assembly-Dev', 'assembly-Prod', 'assembly-Staging']);
    expect(result.stderr).not.toMatch(/AwsSolutions/);
    expect(result.stderr).toMatch(/WARNING Redis \(dev\) uses maxmemory-policy allkeys-lru/);
    const report = JSON.parse(readFileSync(join(outdir, 'validation-report.json'), 'utf8'));
    expect(report.pluginReports.map((plugin: { pluginName: string }) => plugin.pluginName)).not.toContain(
      'AwsSolutions',
    );
    expect(existsSync(join(outdir, 'assembly-Prod'))).toBe(true);
  });
});
