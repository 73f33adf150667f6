import {
  devConfig,
  ELASTICACHE_NODE_TYPES,
  type ElastiCacheEngineConfig,
  NO_CLUSTER_REASON,
  prodConfig,
  resolveElastiCacheEngine,
  type StageConfig,
  validateStageConfig,
} from '../../../lib/config';

const ELASTICACHE: ElastiCacheEngineConfig = {
  kind: 'elasticache',
  nodeType: 'cache.t4g.small',
  replicas: 1,
};

/** The problems of a stage (dev unless given) with this engine. */
function problems(
  engine: unknown,
  base: StageConfig = devConfig,
  change: Partial<StageConfig> = {},
): string[] {
  return validateStageConfig({ ...base, ...change, engine } as StageConfig, {});
}

/** Exactly one problem, naming the stage, the field and what is allowed. */
function expectOneProblem(
  engine: unknown,
  field: string,
  allowed: RegExp,
  base: StageConfig = devConfig,
): void {
  const found = problems(engine, base);
  expect(found).toHaveLength(1);
  expect(found[0]).toContain(`Stage '${base.stageName}'`);
  expect(found[0]).toContain(`field '${field}'`);
  expect(found[0]).toMatch(allowed);
}

describe('engine: the default and fargate', () => {
  it('accepts no engine, fargate, and fargate with its seed bucket', () => {
    expect(problems(undefined)).toEqual([]);
    expect(problems({ kind: 'fargate' })).toEqual([]);
    expect(problems({ kind: 'fargate', seedBucket: true })).toEqual([]);
  });

  it('refuses an unknown kind, naming the two allowed', () => {
    expectOneProblem({ kind: 'ecs' }, 'engine.kind', /Allowed: 'fargate' \(the default\) or 'elasticache'/);
  });

  it('refuses a misspelled fargate field with the nearest name', () => {
    expectOneProblem(
      { kind: 'fargate', seedBuckets: true },
      'engine.seedBuckets',
      /Did you mean 'engine.seedBucket'/,
    );
  });
});

describe('engine: elasticache', () => {
  it('accepts the minimal engine and fills in Valkey 8.1, 7 days of snapshots and the windows', () => {
    expect(problems(ELASTICACHE)).toEqual([]);
    expect(resolveElastiCacheEngine(ELASTICACHE)).toMatchObject({
      engine: 'valkey',
      engineVersion: '8.1',
      snapshotRetentionDays: 7,
      snapshotWindow: '02:00-03:00',
      maintenanceWindow: 'sun:04:00-sun:05:00',
      node: { vcpus: 2, memoryGiB: 1.37 },
    });
  });

  it('accepts Redis OSS 7.1 and every listed node type', () => {
    expect(problems({ ...ELASTICACHE, engine: 'redis', engineVersion: '7.1' })).toEqual([]);
    for (const nodeType of Object.keys(ELASTICACHE_NODE_TYPES)) {
      expect(problems({ ...ELASTICACHE, nodeType })).toEqual([]);
    }
  });

  it('refuses cluster mode and Serverless with the Celery reason (CROSSSLOT)', () => {
    for (const field of ['clusterMode', 'shards', 'numNodeGroups']) {
      const found = problems({ ...ELASTICACHE, [field]: 2 });
      expect(found).toHaveLength(1);
      expect(found[0]).toContain(`field 'engine.${field}'`);
      expect(found[0]).toContain(NO_CLUSTER_REASON);
    }
    expectOneProblem(
      { kind: 'serverless' },
      'engine.kind',
      /Serverless is always clustered: .*CROSSSLOT.*celery\/celery#2852/,
    );
    expect(NO_CLUSTER_REASON).toMatch(/CROSSSLOT/);
  });

  it('refuses a previous-generation or unknown node type, listing the allowed ones', () => {
    expectOneProblem(
      { ...ELASTICACHE, nodeType: 'cache.t2.micro' },
      'engine.nodeType',
      /Allowed: cache\.t4g\.micro, /,
    );
    expectOneProblem({ ...ELASTICACHE, nodeType: 'cache.r4.large' }, 'engine.nodeType', /current-generation/);
  });

  it('allows 0 to 5 replicas, at least 1 in a stage that retains its data', () => {
    expect(problems({ ...ELASTICACHE, replicas: 0 })).toEqual([]);
    expect(problems({ ...ELASTICACHE, replicas: 5 })).toEqual([]);
    expectOneProblem({ ...ELASTICACHE, replicas: 6 }, 'engine.replicas', /0 to 5/);
    expectOneProblem({ ...ELASTICACHE, replicas: 1.5 }, 'engine.replicas', /0 to 5/);
    expectOneProblem(
      { ...ELASTICACHE, replicas: 0 },
      'engine.replicas',
      /retained stage needs at least 1 replica/,
      prodConfig,
    );
    expect(problems({ ...ELASTICACHE, replicas: 1 }, prodConfig)).toEqual([]);
  });

  it('checks the engine and its version', () => {
    expectOneProblem(
      { ...ELASTICACHE, engine: 'memcached' },
      'engine.engine',
      /'valkey' \(the default\) or 'redis'/,
    );
    expectOneProblem(
      { ...ELASTICACHE, engineVersion: '7.2' },
      'engine.engineVersion',
      /Allowed for valkey: 8\.0, 8\.1/,
    );
    expectOneProblem(
      { ...ELASTICACHE, engine: 'redis', engineVersion: '8.1' },
      'engine.engineVersion',
      /Allowed for redis: 7\.1/,
    );
  });

  it('checks the snapshot retention, the windows and their overlap', () => {
    expectOneProblem({ ...ELASTICACHE, snapshotRetentionDays: 0 }, 'engine.snapshotRetentionDays', /1 to 35/);
    expectOneProblem(
      { ...ELASTICACHE, snapshotRetentionDays: 36 },
      'engine.snapshotRetentionDays',
      /1 to 35/,
    );
    expectOneProblem(
      { ...ELASTICACHE, snapshotWindow: '02:00-02:30' },
      'engine.snapshotWindow',
      /at least 60 minutes/,
    );
    expectOneProblem({ ...ELASTICACHE, snapshotWindow: '2:00-3:00' }, 'engine.snapshotWindow', /HH:MM-HH:MM/);
    expect(problems({ ...ELASTICACHE, snapshotWindow: '23:30-00:30' })).toEqual([]);
    expectOneProblem(
      { ...ELASTICACHE, maintenanceWindow: 'sunday:04:00-sunday:05:00' },
      'engine.maintenanceWindow',
      /ddd:HH:MM-ddd:HH:MM/,
    );
    expectOneProblem(
      { ...ELASTICACHE, maintenanceWindow: 'sun:04:00-sun:04:30' },
      'engine.maintenanceWindow',
      /60 minutes to 24 hours/,
    );
    expectOneProblem(
      { ...ELASTICACHE, maintenanceWindow: 'tue:02:30-tue:03:30' },
      'engine.maintenanceWindow',
      /overlaps the daily snapshot window 02:00-03:00/,
    );
    // Across midnight and across the end of the week.
    expectOneProblem(
      { ...ELASTICACHE, snapshotWindow: '23:30-00:30', maintenanceWindow: 'sat:23:45-sun:01:00' },
      'engine.maintenanceWindow',
      /overlaps/,
    );
    expect(
      problems({ ...ELASTICACHE, snapshotWindow: '23:30-00:30', maintenanceWindow: 'sun:01:00-sun:02:00' }),
    ).toEqual([]);
  });

  it('accepts only a seed key as ops seed-export writes it', () => {
    expect(problems({ ...ELASTICACHE, seed: 'seeds/dev/20261130T020000Z.rdb' })).toEqual([]);
    expectOneProblem(
      { ...ELASTICACHE, seed: 's3://bucket/seeds/dev/x.rdb' },
      'engine.seed',
      /seeds\/<stage>\/<name>\.rdb/,
    );
    expectOneProblem(
      { ...ELASTICACHE, seed: 'snapshots/dev/2026/11/30/20261130T020000Z.rdb' },
      'engine.seed',
      /ops seed-export/,
    );
  });

  it('needs TLS required (RBAC works only with TLS)', () => {
    const found = problems(ELASTICACHE, devConfig, { tls: 'transitional' });
    expect(found).toHaveLength(1);
    expect(found[0]).toMatch(/needs tls 'required' \(or unset\).*tls "transitional"/);
    expect(problems(ELASTICACHE, devConfig, { tls: 'required' })).toEqual([]);
  });

  it('refuses a misspelled field with the nearest name', () => {
    expectOneProblem({ ...ELASTICACHE, replica: 1 }, 'engine.replica', /Did you mean 'engine.replicas'/);
  });
});
