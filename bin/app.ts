import { App, type AppProps, Tags, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { type CdkDefaultEnv, STAGE_CONFIGS, type StageConfig, validateStageConfigs } from '../lib/config';
import { RedisStage } from '../lib/stages/redis-stage';

/** Context key (aws-cdk-lib cx-api FAIL_SYNTH_ON_VALIDATION_ERRORS_CONTEXT). */
const FAIL_SYNTH_ON_VALIDATION_ERRORS = '@aws-cdk/core:failSynthOnValidationErrors';

export interface CreateAppOptions {
  /** Props of the App (outdir, context). @default none: the CDK CLI's */
  readonly appProps?: AppProps;
  /** The stages. @default STAGE_CONFIGS (Dev, Staging, Prod) */
  readonly stages?: readonly StageConfig[];
  /** Where CDK_DEFAULT_ACCOUNT/REGION come from. @default process.env */
  readonly env?: CdkDefaultEnv;
}

/**
 * The app: one Stage per environment (`Dev`, `Staging`, `Prod`, each holding its `Redis` stack),
 * common tags and cdk-nag's AwsSolutions checks on everything. No resources here.
 *
 * The stage configs are validated first, all at once: an invalid config fails synth with one error
 * listing every problem before any construct exists.
 */
export function createApp(options: CreateAppOptions = {}): App {
  const stages = options.stages ?? STAGE_CONFIGS;
  const environments = validateStageConfigs(stages, options.env ?? process.env);

  const app = new App({
    ...options.appProps,
    postCliContext: {
      // The CLI asks apps to leave validation reporting to it, but it only reports (and fails) for the
      // stacks selected on its command line, and a bare `cdk synth` selects none when every stack is
      // inside a Stage. Keep the app in charge: any cdk-nag error fails every synth, selection or not.
      [FAIL_SYNTH_ON_VALIDATION_ERRORS]: true,
      ...options.appProps?.postCliContext,
    },
  });
  for (const config of stages) {
    const stage = new RedisStage(app, config.stageName, { config, env: environments.get(config) });
    // Tagged per stage: aspects (tags included) do not cross from the App into a nested Stage.
    Tags.of(stage).add('project', 'emailclient-redis');
    Tags.of(stage).add('stage', config.envName);
    Tags.of(stage).add('managed-by', 'aws-cdk');
  }
  // Findings are reported in the cloud assembly's validation report and fail `cdk synth`;
  // acknowledgements are made on the one construct concerned, next to the code they are about.
  Validations.of(app).addPlugins(new AwsSolutionsChecks(app));
  return app;
}

if (require.main === module) {
  // Synthesize explicitly (instead of the App's automatic synth at exit) to turn a failed validation
  // or an invalid config into a one-line error and exit code 1 instead of a stack trace.
  try {
    createApp({ appProps: { autoSynth: false } }).synth();
  } catch (error) {
    console.error(error instanceof Error ? error.message : String(error));
    process.exitCode = 1;
  }
}
