import {
  backupScheduleExpression,
  DEFAULT_MONITORING,
  devConfig,
  FARGATE_CPU_MEMORY,
  isPrivateIpv4Network,
  parseCidr,
  parseRedisMemory,
  prodConfig,
  resolveEnvironment,
  resolveMonitoring,
  STAGE_CONFIGS,
  type StageConfig,
  stagingConfig,
  TLS_MODES,
  type TlsMode,
  validateStageConfig,
  validateStageConfigs,
} from '../../../lib/config';

const AGNOSTIC = {};

/** The problems of `devConfig` changed by `change`. */
function problems(change: Partial<StageConfig>, environment = AGNOSTIC): string[] {
  return validateStageConfig({ ...devConfig, ...change } as StageConfig, environment);
}

/** Asserts exactly one problem, naming the stage, the field, the value and what is allowed. */
function expectOneProblem(
  change: Partial<StageConfig>,
  field: string,
  value: unknown,
  allowed: RegExp,
): void {
  const found = problems(change);
  expect(found).toHaveLength(1);
  const [message] = found;
  expect(message).toContain("Stage 'Dev'");
  expect(message).toContain(`field '${field}'`);
  expect(message).toContain(`value ${JSON.stringify(value)}`);
  expect(message).toMatch(allowed);
}

describe('the real stage configs', () => {
  it.each(STAGE_CONFIGS.map((config) => [config.stageName, config] as const))(
    '%s is valid',
    (_name, config) => {
      expect(validateStageConfig(config, AGNOSTIC)).toEqual([]);
    },
  );

  it('use the spec defaults: 0.5 vCPU / 1 GiB, maxmemory 512mb, allkeys-lru, daily backups', () => {
    for (const config of STAGE_CONFIGS) {
      expect([config.taskCpu, config.taskMemoryMiB, config.maxmemory, config.maxmemoryPolicy]).toEqual([
        512,
        1024,
        '512mb',
        'allkeys-lru',
      ]);
      expect(config.backupIntervalHours).toBe(24);
    }
  });

  it('serve Redis over TLS only (required): Celery messages carry personal data', () => {
    expect(STAGE_CONFIGS.map((config) => [config.stageName, config.tls])).toEqual([
      ['Dev', 'required'],
      ['Staging', 'required'],
      ['Prod', 'required'],
    ]);
  });

  it('rotate their passwords every 30 days in staging and prod; dev does not rotate', () => {
    expect(STAGE_CONFIGS.map((config) => [config.stageName, config.passwordRotationDays])).toEqual([
      ['Dev', undefined],
      ['Staging', 30],
      ['Prod', 30],
    ]);
  });

  it('retain data (and get termination protection) in prod only', () => {
    expect([devConfig.retainData, stagingConfig.retainData, prodConfig.retainData]).toEqual([
      false,
      false,
      true,
    ]);
  });
});

describe('validation rules (each message names stage, field, value and what is allowed)', () => {
  it('rejects a maxmemory above 60% of the task memory (no room for the BGSAVE fork)', () => {
    expectOneProblem(
      { maxmemory: '700mb' },
      'maxmemory',
      '700mb',
      /at most 60% of taskMemoryMiB, i\.e\. 614mb/,
    );
    expect(problems({ maxmemory: '614mb' })).toEqual([]);
    expect(problems({ maxmemory: '1gb', taskMemoryMiB: 2048 })).toEqual([]);
  });

  it('rejects a maxmemory that is not a Redis memory size', () => {
    for (const value of ['512 mb', '0', '-1mb', '1.5gb', '512MiB', '']) {
      expectOneProblem({ maxmemory: value }, 'maxmemory', value, /Allowed: a Redis memory size/);
    }
  });

  it('rejects a tiny maxmemory', () => {
    expectOneProblem({ maxmemory: '1000' }, 'maxmemory', '1000', /at least 1mb/);
  });

  it('rejects a TLS mode other than off, transitional or required (case and type included)', () => {
    const allowed =
      /Allowed: 'off', 'transitional' \(plaintext on 6379 and TLS on 6380, while consumers move\) or 'required' \(TLS only, the default\)\.$/;
    for (const value of ['maybe', 'Required', 'on', '', true, 6380]) {
      expectOneProblem({ tls: value as unknown as TlsMode }, 'tls', value, allowed);
    }
    for (const mode of TLS_MODES) expect(problems({ tls: mode })).toEqual([]);
    expect(TLS_MODES).toEqual(['off', 'transitional', 'required']);
    // Unset is allowed: the stack then serves TLS only (test/lib/constructs/redis-tls.test.ts).
    expect(validateStageConfig({ ...devConfig, tls: undefined }, AGNOSTIC)).toEqual([]);
  });

  it.each([0, 366, 1.5, -30, '30'])(
    'rejects passwordRotationDays %j (a whole number of days, 1 to 365)',
    (value) => {
      expectOneProblem(
        { passwordRotationDays: value as unknown as number },
        'passwordRotationDays',
        value,
        /Allowed: a whole number of days from 1 to 365 \(a client has one interval to pick up a new password at its next deploy\)\.$/,
      );
    },
  );

  it('accepts passwordRotationDays from 1 to 365, and unset on a stage that does not retain its data', () => {
    for (const days of [1, 30, 365]) expect(problems({ passwordRotationDays: days })).toEqual([]);
    expect(devConfig.retainData).toBe(false);
    expect(devConfig).not.toHaveProperty('passwordRotationDays');
    expect(validateStageConfig(devConfig, AGNOSTIC)).toEqual([]);
    expect(problems({ passwordRotationDays: undefined })).toEqual([]);
  });

  it('refuses a stage that retains its data without passwordRotationDays, saying what to set', () => {
    const retained = { retainData: true, alarmEmail: 'oncall@example.com' };
    expectOneProblem(
      { ...retained, passwordRotationDays: undefined },
      'passwordRotationDays',
      undefined,
      /A stage that retains its data \(prod\) rotates its passwords: set a number of days \(1 to 365, e\.g\. 30\)\. Only a throwaway stage may leave it unset\.$/,
    );
    // Left out entirely (not just undefined) is the same.
    const { passwordRotationDays: _left, ...withoutField } = { ...prodConfig };
    const found = validateStageConfig(withoutField as StageConfig, AGNOSTIC);
    expect(found).toEqual([
      expect.stringMatching(
        /^Stage 'Prod', field 'passwordRotationDays', value undefined: A stage that retains/,
      ),
    ]);
    expect(problems({ ...retained, passwordRotationDays: 30 })).toEqual([]);
    // A retained stage with an invalid value gets the range message, not both.
    expectOneProblem({ ...retained, passwordRotationDays: 0 }, 'passwordRotationDays', 0, /from 1 to 365/);
  });

  it('rejects an unknown eviction policy', () => {
    expectOneProblem(
      { maxmemoryPolicy: 'allkeys-lfru' as StageConfig['maxmemoryPolicy'] },
      'maxmemoryPolicy',
      'allkeys-lfru',
      /Allowed: noeviction, allkeys-lru, allkeys-lfu, allkeys-random, volatile-lru, volatile-lfu, volatile-random, volatile-ttl/,
    );
  });

  it('rejects a CPU/memory pair Fargate does not offer', () => {
    expectOneProblem(
      { taskMemoryMiB: 5120 },
      'taskMemoryMiB',
      5120,
      /taskCpu 512\. Allowed: 1024 to 4096 in steps of 1024/,
    );
    expectOneProblem(
      { taskCpu: 256, taskMemoryMiB: 4096, maxmemory: '512mb' },
      'taskMemoryMiB',
      4096,
      /Allowed: 512, 1024, 2048/,
    );
  });

  it('rejects CPU units Fargate does not offer', () => {
    expectOneProblem(
      { taskCpu: 500 },
      'taskCpu',
      500,
      /Allowed Fargate CPU units: 256, 512, 1024, 2048, 4096, 8192, 16384/,
    );
  });

  it.each(['0.0.0.0/0', '::/0'])('rejects the open client CIDR %s', (cidr) => {
    expectOneProblem({ clientCidrs: [cidr] }, 'clientCidrs[0]', cidr, /never be open to the whole internet/);
  });

  it.each(['0.0.0.0/1', '10.0.0.0/7', '2001::/16'])('rejects the too wide client CIDR %s', (cidr) => {
    expectOneProblem(
      { clientCidrs: [cidr] },
      'clientCidrs[0]',
      cidr,
      /at most \/8 \(IPv4\) or \/32 \(IPv6\) wide/,
    );
  });

  it.each(['10.50.0.0', '10.50.0.0/33', '300.1.1.1/16', 'vpc-peer', '2001:db8::/129'])(
    'rejects the malformed client CIDR %s',
    (cidr) => {
      expectOneProblem({ clientCidrs: [cidr] }, 'clientCidrs[0]', cidr, /Allowed: an IPv4 or IPv6 CIDR/);
    },
  );

  it('rejects a client CIDR with host bits set', () => {
    expectOneProblem({ clientCidrs: ['10.50.1.0/16'] }, 'clientCidrs[0]', '10.50.1.0/16', /network address/);
  });

  it('accepts specific IPv4 and IPv6 client CIDRs', () => {
    expect(problems({ clientCidrs: ['10.50.0.0/16', '192.168.10.0/24', '2001:db8:1234::/48'] })).toEqual([]);
  });

  it('rejects a client security group id that is not sg-...', () => {
    expectOneProblem(
      { clientSecurityGroupIds: ['sg-0123456789abcdef0', 'email-service'] },
      'clientSecurityGroupIds[1]',
      'email-service',
      /'sg-' followed by 8 or 17/,
    );
    expect(problems({ clientSecurityGroupIds: ['sg-0123456789abcdef0', 'sg-01234567'] })).toEqual([]);
  });

  it('rejects a retention shorter than the backup interval', () => {
    expectOneProblem(
      { backupIntervalHours: 168, backupRetentionDays: 3 },
      'backupRetentionDays',
      3,
      /Shorter than two backup intervals \(backupIntervalHours 168\).*Allowed: at least 14 days/,
    );
  });

  it('rejects a retention equal to the interval (one failed backup would leave none)', () => {
    expectOneProblem(
      { backupIntervalHours: 24, backupRetentionDays: 1 },
      'backupRetentionDays',
      1,
      /at least 2 days/,
    );
    expect(problems({ backupIntervalHours: 24, backupRetentionDays: 2 })).toEqual([]);
  });

  it('rejects a backup interval that does not divide a day (or a week)', () => {
    expectOneProblem(
      { backupIntervalHours: 5 },
      'backupIntervalHours',
      5,
      /Allowed: 1, 2, 3, 4, 6, 8, 12, 24, 168/,
    );
  });

  it('rejects a backup start hour outside 0-23', () => {
    expectOneProblem({ backupStartHourUtc: 24 }, 'backupStartHourUtc', 24, /0 to 23/);
  });

  it('rejects an impossible retention', () => {
    expectOneProblem({ backupRetentionDays: 0 }, 'backupRetentionDays', 0, /from 1 to 3650/);
  });

  it('rejects a cold-storage transition that is not before the expiry', () => {
    expectOneProblem(
      { backupRetentionDays: 30, backupColdStorageAfterDays: 30 },
      'backupColdStorageAfterDays',
      30,
      /less than backupRetentionDays \(30\)/,
    );
    expect(problems({ backupRetentionDays: 365, backupColdStorageAfterDays: 30 })).toEqual([]);
  });

  it('rejects an alarm e-mail that is not an address', () => {
    expectOneProblem({ alarmEmail: 'oncall' }, 'alarmEmail', 'oncall', /e-mail address/);
    expect(problems({ alarmEmail: 'oncall@example.com' })).toEqual([]);
  });

  it('rejects a log retention CloudWatch Logs does not offer', () => {
    expectOneProblem(
      { logRetentionDays: 10 },
      'logRetentionDays',
      10,
      /Allowed \(CloudWatch Logs\): 1, 3, 5, 7, 14/,
    );
  });

  it('rejects a malformed account id or region', () => {
    expectOneProblem({ account: '1234' }, 'account', '1234', /12-digit AWS account id/);
    expectOneProblem(
      { region: 'Europe' },
      'region',
      'Europe',
      /not a region AWS has\. Allowed: one of .*eu-west-1/,
    );
    expect(problems({ account: '123456789012', region: 'us-gov-west-1' })).toEqual([]);
  });

  it('rejects a region that is well-formed but does not exist, also from CDK_DEFAULT_REGION', () => {
    expectOneProblem(
      { region: 'eu-west-9' },
      'region',
      'eu-west-9',
      /not a region AWS has\. Allowed: one of .*eu-west-1, eu-west-2, eu-west-3/,
    );
    const fromCli = problems({}, { region: 'eu-west-9' });
    expect(fromCli).toHaveLength(1);
    expect(fromCli[0]).toContain(
      'field \'region (from CDK_DEFAULT_REGION, i.e. AWS_REGION or the profile)\', value "eu-west-9"',
    );
  });

  it('refuses 3 AZs where an environment-agnostic synth can give only 2, saying how to pin the environment', () => {
    expectOneProblem(
      { vpc: { kind: 'new', cidr: '10.10.0.0/16', maxAzs: 3 } },
      'vpc.maxAzs',
      3,
      /environment-agnostic \(account unset, region unset\), which gives only 2 AZs: 3 would silently become 2\. Allowed: 2; or pin account and region in lib\/config\/dev\.ts/,
    );
    const pinned = { account: '123456789012', region: 'eu-west-1' };
    expect(problems({ ...pinned, vpc: { kind: 'new', cidr: '10.10.0.0/16', maxAzs: 3 } }, pinned)).toEqual(
      [],
    );
  });

  it('fails a retained stage whose alarms notify nobody, unless it says so explicitly', () => {
    // A retained stage must also rotate its passwords (its own rule, tested below): set here, so
    // that the alarm rule is the one problem.
    const retained = { retainData: true, passwordRotationDays: 30, alarmEmail: undefined };
    expectOneProblem(
      retained,
      'alarmEmail',
      undefined,
      /a retained stage .* alarms would notify nobody\. Allowed: the on-call address; or alarmsNotifyNobody: true/,
    );
    expect(problems({ ...retained, alarmsNotifyNobody: true })).toEqual([]);
    expect(problems({ ...retained, alarmEmail: 'oncall@example.com' })).toEqual([]);
    expectOneProblem(
      { alarmEmail: 'oncall@example.com', alarmsNotifyNobody: true },
      'alarmsNotifyNobody',
      true,
      /contradicts alarmEmail/,
    );
  });

  it('rejects a VPC CIDR that is not a private /16-/22 network', () => {
    expectOneProblem(
      { vpc: { kind: 'new', cidr: '10.0.0.0/8', maxAzs: 2 } },
      'vpc.cidr',
      '10.0.0.0/8',
      /\/16 to \/22/,
    );
    expectOneProblem(
      { vpc: { kind: 'new', cidr: '8.8.0.0/16', maxAzs: 2 } },
      'vpc.cidr',
      '8.8.0.0/16',
      /RFC 1918/,
    );
  });

  it('rejects a number of AZs other than 2 or 3', () => {
    expectOneProblem({ vpc: { kind: 'new', cidr: '10.10.0.0/16', maxAzs: 1 } }, 'vpc.maxAzs', 1, /2 or 3/);
  });

  it('rejects a VPC id that is not vpc-...', () => {
    const vpc = { kind: 'imported', vpcId: 'my-vpc', createEndpoints: false } as const;
    const found = problems({ vpc }, { account: '123456789012', region: 'eu-west-1' });
    expect(found).toEqual([
      expect.stringMatching(/Stage 'Dev', field 'vpc\.vpcId', value "my-vpc": .*'vpc-' followed by/),
    ]);
  });

  it('rejects importing a VPC without a concrete account and region', () => {
    const vpc = { kind: 'imported', vpcId: 'vpc-0123456789abcdef0', createEndpoints: false } as const;
    expectOneProblem({ vpc }, 'vpc.vpcId', 'vpc-0123456789abcdef0', /needs a concrete account and region/);
    expect(problems({ vpc }, { account: '123456789012', region: 'eu-west-1' })).toEqual([]);
  });

  it('rejects a DNS namespace that is not a lower-case DNS name', () => {
    expectOneProblem({ dnsNamespace: 'Redis_Dev' }, 'dnsNamespace', 'Redis_Dev', /lower-case DNS name/);
    expectOneProblem({ dnsNamespace: 'internal' }, 'dnsNamespace', 'internal', /at least two labels/);
  });

  it('rejects stage and env names that cannot be construct ids / DNS labels', () => {
    const found = validateStageConfig({ ...devConfig, stageName: 'dev stage', envName: 'Dev' }, AGNOSTIC);
    expect(found).toEqual([
      expect.stringMatching(/^Stage 'dev stage', field 'stageName', value "dev stage": Allowed: PascalCase/),
      expect.stringMatching(/^Stage 'dev stage', field 'envName', value "Dev": Allowed: lower-case/),
    ]);
  });
});

describe('validateStageConfigs', () => {
  it('collects every problem of every stage into one error', () => {
    const broken = [
      { ...devConfig, maxmemory: '900mb', clientCidrs: ['0.0.0.0/0'] },
      { ...prodConfig, taskMemoryMiB: 5000 },
    ];
    expect(() => validateStageConfigs(broken, {})).toThrow(
      new RegExp(
        [
          'Invalid stage configuration \\(3 problem\\(s\\)\\):',
          "  - Stage 'Dev', field 'maxmemory', value \"900mb\": .*",
          "  - Stage 'Dev', field 'clientCidrs\\[0\\]', value \"0\\.0\\.0\\.0/0\": .*",
          "  - Stage 'Prod', field 'taskMemoryMiB', value 5000: .*",
        ].join('\\n'),
      ),
    );
  });

  it('rejects two stages with the same name, env name or namespace', () => {
    expect(() => validateStageConfigs([devConfig, { ...stagingConfig, stageName: 'Dev' }], {})).toThrow(
      /Stage 'Dev', field 'stageName', value "Dev": used by another stage/,
    );
    expect(() =>
      validateStageConfigs([devConfig, { ...stagingConfig, dnsNamespace: devConfig.dnsNamespace }], {}),
    ).toThrow(/field 'dnsNamespace', value "dev\.emailclient\.internal": used by another stage/);
  });

  it('returns each stage resolved environment', () => {
    const resolved = validateStageConfigs(STAGE_CONFIGS, {
      CDK_DEFAULT_ACCOUNT: '111111111111',
      CDK_DEFAULT_REGION: 'eu-west-1',
    });
    expect(resolved.get(prodConfig)).toEqual({ account: '111111111111', region: 'eu-west-1' });
  });
});

describe('resolveEnvironment', () => {
  it('takes the config first, then CDK_DEFAULT_ACCOUNT/REGION, else stays environment-agnostic', () => {
    const env = { CDK_DEFAULT_ACCOUNT: '111111111111', CDK_DEFAULT_REGION: 'eu-west-1' };
    expect(resolveEnvironment(devConfig, env)).toEqual({ account: '111111111111', region: 'eu-west-1' });
    expect(resolveEnvironment({ ...devConfig, account: '222222222222', region: 'us-east-2' }, env)).toEqual({
      account: '222222222222',
      region: 'us-east-2',
    });
    expect(resolveEnvironment(devConfig, {})).toEqual({});
    expect(resolveEnvironment(devConfig, { CDK_DEFAULT_ACCOUNT: '', CDK_DEFAULT_REGION: '' })).toEqual({});
  });
});

describe('helpers', () => {
  it.each([
    ['123456', 123456],
    ['1k', 1000],
    ['1kb', 1024],
    ['512mb', 512 * 1024 ** 2],
    ['512MB', 512 * 1024 ** 2],
    ['100m', 100_000_000],
    ['1gb', 1024 ** 3],
    ['2G', 2_000_000_000],
  ])('parseRedisMemory(%s) = %d (redis.conf units)', (text, bytes) => {
    expect(parseRedisMemory(text)).toBe(bytes);
  });

  it('isPrivateIpv4Network tells private IPv4 space from public space', () => {
    for (const cidr of [
      '10.0.0.0/8',
      '10.50.0.0/16',
      '172.16.0.0/12',
      '172.31.255.0/24',
      '192.168.10.0/24',
      '100.64.0.0/10',
      '100.127.0.0/16',
    ])
      expect([cidr, isPrivateIpv4Network(cidr)]).toEqual([cidr, true]);
    for (const cidr of [
      '8.0.0.0/8',
      '172.32.0.0/16',
      '172.0.0.0/8',
      '192.169.0.0/16',
      '100.128.0.0/16',
      '100.0.0.0/8',
      '203.0.113.0/24',
      '2001:db8::/32',
      'fd00::/8',
      'nonsense',
    ])
      expect([cidr, isPrivateIpv4Network(cidr)]).toEqual([cidr, false]);
  });

  it('parseCidr checks family, prefix and host bits', () => {
    expect(parseCidr('10.0.0.0/16')).toEqual({ version: 4, prefix: 16, aligned: true });
    expect(parseCidr('10.0.0.1/16')).toEqual({ version: 4, prefix: 16, aligned: false });
    expect(parseCidr('2001:db8::/32')).toEqual({ version: 6, prefix: 32, aligned: true });
    expect(parseCidr('2001:db8::1/64')).toEqual({ version: 6, prefix: 64, aligned: false });
    expect(parseCidr('::ffff:10.0.0.0/120')).toEqual({ version: 6, prefix: 120, aligned: true });
    expect(parseCidr('10.0.0.0')).toBeUndefined();
  });

  it('FARGATE_CPU_MEMORY holds the Fargate Linux table', () => {
    expect(FARGATE_CPU_MEMORY[256]).toEqual([512, 1024, 2048]);
    expect(FARGATE_CPU_MEMORY[512]).toEqual([1024, 2048, 3072, 4096]);
    expect(FARGATE_CPU_MEMORY[4096]?.at(-1)).toBe(30720);
    expect(FARGATE_CPU_MEMORY[16384]?.[0]).toBe(32768);
  });

  it.each([
    [24, 2, 'cron(0 2 * * ? *)'],
    [6, 2, 'cron(0 2,8,14,20 * * ? *)'],
    [6, 10, 'cron(0 4,10,16,22 * * ? *)'],
    [1, 0, 'cron(0 * * * ? *)'],
    [168, 3, 'cron(0 3 ? * SUN *)'],
  ])(
    'backupScheduleExpression(every %dh from %d:00) = %s',
    (backupIntervalHours, backupStartHourUtc, cron) => {
      expect(backupScheduleExpression({ ...devConfig, backupIntervalHours, backupStartHourUtc })).toBe(cron);
    },
  );
});

describe('monitoring section (alarm thresholds, metrics schedule, Celery queues)', () => {
  it('defaults every field: metrics every minute, queue celery in db 0, no backlog alarm', () => {
    expect(resolveMonitoring(devConfig)).toEqual(DEFAULT_MONITORING);
    expect(DEFAULT_MONITORING).toEqual({
      metricsIntervalMinutes: 1,
      celeryQueues: ['celery'],
      celeryQueueDatabase: 0,
      downAlarmMinutes: 3,
      memoryAlarmPercent: 90,
      fragmentationAlarmRatio: 1.5,
      unsavedChangesAlarmMinutes: 60,
      taskCpuAlarmPercent: 80,
      taskMemoryAlarmPercent: 85,
      backupAlarmMarginHours: 3,
    });
    expect(DEFAULT_MONITORING.celeryBacklogAlarmThreshold).toBeUndefined();
  });

  it('keeps the defaults of the fields a stage does not set', () => {
    const resolved = resolveMonitoring({
      ...devConfig,
      monitoring: { memoryAlarmPercent: 80, celeryBacklogAlarmThreshold: 100 },
    });
    expect(resolved).toEqual({
      ...DEFAULT_MONITORING,
      memoryAlarmPercent: 80,
      celeryBacklogAlarmThreshold: 100,
    });
    expect(problems({ monitoring: { memoryAlarmPercent: 80, celeryBacklogAlarmThreshold: 100 } })).toEqual(
      [],
    );
  });

  it.each([
    [{ metricsIntervalMinutes: 0 }, 'metricsIntervalMinutes', 0, /from 1 to 5/],
    [
      { metricsIntervalMinutes: 10 },
      'metricsIntervalMinutes',
      10,
      /from 1 to 5 \(the Redis alarms evaluate 5-minute periods\)/,
    ],
    [{ metricsIntervalMinutes: 1.5 }, 'metricsIntervalMinutes', 1.5, /whole number/],
    [
      { metricsIntervalMinutes: 5, downAlarmMinutes: 3 },
      'downAlarmMinutes',
      3,
      /from metricsIntervalMinutes \(5\) to 60/,
    ],
    [{ downAlarmMinutes: 61 }, 'downAlarmMinutes', 61, /to 60/],
    [
      { celeryQueues: ['celery', 'high priority'] },
      'celeryQueues[1]',
      'high priority',
      /without spaces or commas/,
    ],
    [{ celeryQueues: ['a,b'] }, 'celeryQueues[0]', 'a,b', /without spaces or commas/],
    [{ celeryQueues: ['celery', 'celery'] }, 'celeryQueues', ['celery', 'celery'], /each queue once/],
    [
      { celeryQueues: Array.from({ length: 11 }, (_, i) => `q${i}`) },
      'celeryQueues',
      Array.from({ length: 11 }, (_, i) => `q${i}`),
      /at most 10/,
    ],
    [{ celeryQueueDatabase: 16 }, 'celeryQueueDatabase', 16, /from 0 to 15/],
    [{ celeryBacklogAlarmThreshold: 0 }, 'celeryBacklogAlarmThreshold', 0, /at least 1, or unset/],
    [{ memoryAlarmPercent: 0 }, 'memoryAlarmPercent', 0, /from 1 to 100/],
    [{ memoryAlarmPercent: 120 }, 'memoryAlarmPercent', 120, /from 1 to 100/],
    [{ fragmentationAlarmRatio: 1 }, 'fragmentationAlarmRatio', 1, /from 1\.1 to 10/],
    [
      { unsavedChangesAlarmMinutes: 15 },
      'unsavedChangesAlarmMinutes',
      15,
      /from 20 \(redis\.conf saves changes within 15 minutes\)/,
    ],
    [{ taskCpuAlarmPercent: 101 }, 'taskCpuAlarmPercent', 101, /from 1 to 100/],
    [{ taskMemoryAlarmPercent: -5 }, 'taskMemoryAlarmPercent', -5, /from 1 to 100/],
    [{ backupAlarmMarginHours: 0 }, 'backupAlarmMarginHours', 0, /from 1 to 48/],
  ])('rejects %j', (monitoring, field, value, allowed) => {
    expectOneProblem({ monitoring } as Partial<StageConfig>, `monitoring.${field}`, value, allowed);
  });

  it('lets weekly backups through validation', () => {
    expect(problems({ backupIntervalHours: 168, backupRetentionDays: 14 })).toEqual([]);
  });
});
