import { devConfig } from './dev';
import { prodConfig } from './prod';
import type { StageConfig } from './stage-config';
import { stagingConfig } from './staging';

export * from './engine';
export * from './engine-validation';
export * from './monitoring';
export * from './stage-config';
export * from './validate';
export { devConfig, prodConfig, stagingConfig };

/** Every stage, in promotion order (CI deploys them in this order). */
export const STAGE_CONFIGS: readonly StageConfig[] = [devConfig, stagingConfig, prodConfig];
