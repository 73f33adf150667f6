import { devConfig, type StageConfig, validateStageConfigs } from '../../../lib/config';

// `npx cdk synth` runs under tsx, which does not type-check: a misspelled field must fail synth,
// not deploy the stage with the default it meant to change.
function synthErrors(config: Record<string, unknown>): string {
  try {
    validateStageConfigs([config as unknown as StageConfig], {});
  } catch (error) {
    return (error as Error).message;
  }
  return '';
}

describe('stage configuration refuses fields it does not know', () => {
  it('names the stage, the field and the known name it nearly is (a top-level typo)', () => {
    const message = synthErrors({
      ...devConfig,
      maxMemoryPolicy: 'noeviction',
      alarmEmial: 'oncall@example.com',
    });
    expect(message).toContain(
      "Stage 'Dev', field 'maxMemoryPolicy': unknown field, so it would be ignored. Did you mean 'maxmemoryPolicy'?",
    );
    expect(message).toContain(
      "Stage 'Dev', field 'alarmEmial': unknown field, so it would be ignored. Did you mean 'alarmEmail'?",
    );
    expect(message).toMatch(
      /Allowed here: stageName, envName, .*dnsNamespace, tls, passwordRotationDays, engine\./,
    );
  });

  it('checks nested sections too: monitoring and vpc', () => {
    const message = synthErrors({
      ...devConfig,
      monitoring: { memoryAlarmPercnt: 80 },
      vpc: { kind: 'new', cidr: '10.10.0.0/16', maxAz: 2 },
    });
    expect(message).toContain(
      "field 'monitoring.memoryAlarmPercnt': unknown field, so it would be ignored. Did you mean 'monitoring.memoryAlarmPercent'?",
    );
    expect(message).toContain(
      "field 'vpc.maxAz': unknown field, so it would be ignored. Did you mean 'vpc.maxAzs'?",
    );
    // The misspelled maxAzs is also missing: the VPC's own rule reports it in the same error.
    expect(message).toMatch(/field 'vpc\.maxAzs', value undefined/);
  });

  it("judges a VPC's fields by its kind: an imported VPC has no cidr", () => {
    const message = synthErrors({
      ...devConfig,
      account: '123456789012',
      region: 'eu-west-1',
      vpc: { kind: 'imported', vpcId: 'vpc-0123456789abcdef0', createEndpoints: true, cidr: '10.0.0.0/16' },
    });
    expect(message).toContain("field 'vpc.cidr': unknown field");
    expect(message).toContain('Allowed here: kind, vpcId, createEndpoints.');
  });

  it('offers no guess when nothing is close, and reports the rest of the config too', () => {
    const message = synthErrors({ ...devConfig, colour: 'blue', taskCpu: 3 });
    expect(message).toContain("field 'colour': unknown field, so it would be ignored. Allowed here:");
    expect(message).not.toMatch(/colour.*Did you mean/);
    expect(message).toMatch(/field 'taskCpu', value 3/);
    expect(message).toMatch(/\(2 problem\(s\)\)/);
  });

  it('accepts every stage as shipped', () => {
    expect(synthErrors(devConfig as unknown as Record<string, unknown>)).toBe('');
  });
});
