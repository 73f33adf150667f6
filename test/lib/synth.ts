import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { type App, type CfnElement, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import type { IConstruct } from 'constructs';
import { createApp } from '../../bin/app';
import { type CdkDefaultEnv, devConfig, prodConfig, type StageConfig, stagingConfig } from '../../lib/config';
import type { RedisTls } from '../../lib/constructs/redis-tls';
import type { RedisStack } from '../../lib/stacks/redis-stack';
import { RedisStage } from '../../lib/stages/redis-stage';

/** The feature flags of cdk.json, so tests synthesize what `cdk synth` synthesizes. */
export const CDK_JSON_CONTEXT: Record<string, unknown> = JSON.parse(
  readFileSync(join(__dirname, '..', '..', 'cdk.json'), 'utf8'),
).context;

export interface SynthOptions {
  /** @default the real stages (Dev, Staging, Prod) */
  readonly stages?: readonly StageConfig[];
  /** CDK_DEFAULT_ACCOUNT/REGION. @default none: environment-agnostic stacks */
  readonly env?: CdkDefaultEnv;
  /** Extra context (e.g. cached lookups). */
  readonly context?: Record<string, unknown>;
  /** Called before synthesis, to add constructs (e.g. a consumer or a deliberate finding). */
  readonly beforeSynth?: (app: App) => void;
}

/** One synthesized app, in its own temp outdir. Call `cleanup()` in afterAll. */
export interface SynthesizedApp {
  readonly app: App;
  readonly outdir: string;
  /** What synthesis printed on stderr (the validation report's text). */
  readonly printed: string;
  stage(name: string): RedisStage;
  template(stageName: string): Template;
  /** Warning annotations of a stage's Redis stack, as `path: message` (from the synthesized assembly). */
  warnings(stageName: string): string[];
  /** The cloud assembly's validation-report.json (cdk-nag findings, warning annotations). */
  validationReport(): ValidationReport;
  cleanup(): void;
}

export interface ValidationReport {
  readonly pluginReports: {
    readonly pluginName: string;
    readonly violations: {
      readonly ruleName: string;
      readonly severity: string;
      readonly description: string;
      readonly violatingConstructs: { readonly constructPath?: string }[];
    }[];
  }[];
}

/** Builds the app exactly as bin/app.ts does, with cdk.json's context, and synthesizes it. */
export function synthesize(options: SynthOptions = {}): SynthesizedApp {
  const outdir = mkdtempSync(join(tmpdir(), 'redis-cdk-test-'));
  try {
    const app = createApp({
      appProps: {
        outdir,
        // No Lambda bundling (esbuild per function per stage): what these tests read is the
        // templates, not the code (CDK then stages a placeholder). `cdk synth` itself still bundles,
        // and test/bin runs it.
        context: { ...CDK_JSON_CONTEXT, 'aws:cdk:bundling-stacks': [], ...options.context },
      },
      env: options.env ?? {},
      ...(options.stages ? { stages: options.stages } : {}),
    });
    options.beforeSynth?.(app);
    // The app prints its validation report (warnings included) on stderr, as `cdk synth` shows it.
    // Keep it for the tests instead of the console.
    const printed: string[] = [];
    const consoleError = console.error;
    console.error = (...args: unknown[]) => printed.push(args.map(String).join(' '));
    try {
      app.synth();
    } finally {
      console.error = consoleError;
    }
    const stage = (name: string): RedisStage => {
      const found = app.node.tryFindChild(name);
      if (!(found instanceof RedisStage)) throw new Error(`no stage ${name}`);
      return found;
    };
    return {
      app,
      outdir,
      printed: printed.join('\n'),
      stage,
      template: (name) => Template.fromStack(stage(name).stack),
      warnings: (name) => {
        const redisStage = stage(name);
        return redisStage
          .synth()
          .getStackArtifact(redisStage.stack.artifactId)
          .messages.filter((message) => message.level === 'warning')
          .map((message) => `${message.id}: ${String(message.entry.data)}`);
      },
      validationReport: () => {
        const file = join(outdir, 'validation-report.json');
        return existsSync(file) ? JSON.parse(readFileSync(file, 'utf8')) : { pluginReports: [] };
      },
      cleanup: () => rmSync(outdir, { recursive: true, force: true }),
    };
  } catch (error) {
    rmSync(outdir, { recursive: true, force: true });
    throw error;
  }
}

/** Findings of one plugin ("AwsSolutions" for cdk-nag) as `ruleName @ constructPath` lines. */
export function findings(report: ValidationReport, pluginName: string): string[] {
  return report.pluginReports
    .filter((plugin) => plugin.pluginName === pluginName)
    .flatMap((plugin) =>
      plugin.violations.flatMap((violation) =>
        violation.violatingConstructs.map(
          (construct) => `${violation.severity} ${violation.ruleName} @ ${construct.constructPath ?? '?'}`,
        ),
      ),
    );
}

/** The real stage names, in promotion order. */
export const STAGES = ['Dev', 'Staging', 'Prod'] as const;

/** Each real stage's config, by stage name. */
export const STAGE_CONFIG: Record<(typeof STAGES)[number], StageConfig> = {
  Dev: devConfig,
  Staging: stagingConfig,
  Prod: prodConfig,
};

/** The logical id of a construct's CloudFormation resource, as its stack's template names it. */
export function logicalId(construct: IConstruct): string {
  const stack = Stack.of(construct);
  return stack.resolve(stack.getLogicalId(construct.node.defaultChild as CfnElement));
}

/** A stack's RedisTls (its stage serves TLS); throws for a stage with `tls: 'off'`. */
export function redisTls(stack: RedisStack): RedisTls {
  const { tls } = stack.redis;
  if (!tls) throw new Error(`${stack.node.path} serves no TLS: it has no RedisTls`);
  return tls;
}

/** How the template references the stage CA's certificate: the certificate custom resource's attribute. */
export function caCertificateRef(stack: RedisStack): { 'Fn::GetAtt': [string, string] } {
  return { 'Fn::GetAtt': [logicalId(redisTls(stack).issued), 'CaCertificate'] };
}
