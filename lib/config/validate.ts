import { isIPv4, isIPv6 } from 'node:net';
import { RegionInfo } from 'aws-cdk-lib/region-info';
import { validateEngine } from './engine-validation';
import { unknownFields } from './known-fields';
import { validateMonitoring } from './monitoring';
import { EVICTION_POLICIES, type EvictionPolicy, type StageConfig, TLS_MODES } from './stage-config';

/**
 * Validation of the stage configs, run once at the top of the app (bin/app.ts) before any construct
 * exists. Every problem of every stage is collected and reported in ONE error, each line naming the
 * stage, the field, the value and what is allowed.
 */

/** The account/region a stage resolves to (explicit config, else CDK_DEFAULT_ACCOUNT/REGION). */
export interface ResolvedEnvironment {
  readonly account?: string;
  readonly region?: string;
}

/** Environment variables the CDK CLI sets from the current credentials/profile. */
export interface CdkDefaultEnv {
  readonly CDK_DEFAULT_ACCOUNT?: string;
  readonly CDK_DEFAULT_REGION?: string;
}

/** A stage's account and region: its config wins, else the CLI's defaults, else environment-agnostic. */
export function resolveEnvironment(config: StageConfig, env: CdkDefaultEnv): ResolvedEnvironment {
  const account = config.account ?? nonEmpty(env.CDK_DEFAULT_ACCOUNT);
  const region = config.region ?? nonEmpty(env.CDK_DEFAULT_REGION);
  return { ...(account ? { account } : {}), ...(region ? { region } : {}) };
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === '' ? undefined : value;
}

/** Fargate (Linux) CPU units and the memory sizes (MiB) each supports. */
export const FARGATE_CPU_MEMORY: Readonly<Record<number, readonly number[]>> = {
  256: [512, 1024, 2048],
  512: range(1024, 4096, 1024),
  1024: range(2048, 8192, 1024),
  2048: range(4096, 16384, 1024),
  4096: range(8192, 30720, 1024),
  8192: range(16384, 61440, 4096),
  16384: range(32768, 122880, 8192),
};

function range(from: number, to: number, step: number): number[] {
  const values: number[] = [];
  for (let value = from; value <= to; value += step) values.push(value);
  return values;
}

/** Largest share of the task memory Redis may use: the rest is for the BGSAVE/AOF-rewrite fork. */
export const MAX_MEMORY_SHARE = 0.6;

/** Retention values CloudWatch Logs accepts (days). */
export const LOG_RETENTION_DAYS = [
  1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653,
] as const;

/** Backup intervals that give evenly spaced backups (divisors of a day, or weekly). */
export const BACKUP_INTERVAL_HOURS = [1, 2, 3, 4, 6, 8, 12, 24, 168] as const;

const REDIS_UNITS: Readonly<Record<string, number>> = {
  '': 1,
  k: 1000,
  kb: 1024,
  m: 1000 ** 2,
  mb: 1024 ** 2,
  g: 1000 ** 3,
  gb: 1024 ** 3,
};

/**
 * Bytes of a Redis memory size (`123456`, `512mb`, `1gb`, `100m`, any case), as redis.conf reads it:
 * k/m/g are powers of 1000, kb/mb/gb powers of 1024. Same syntax the image's entrypoint accepts
 * (a positive integer, optional unit); undefined when it is not one.
 */
export function parseRedisMemory(value: string): number | undefined {
  const match = /^([1-9][0-9]*)([kmg]b?)?$/i.exec(value);
  if (!match?.[1]) return undefined;
  const unit = REDIS_UNITS[(match[2] ?? '').toLowerCase()];
  return unit === undefined ? undefined : Number(match[1]) * unit;
}

/** True for every policy that evicts keys when maxmemory is reached (all but noeviction). */
export function isEvictingPolicy(policy: EvictionPolicy): boolean {
  return policy !== 'noeviction';
}

interface ParsedCidr {
  readonly version: 4 | 6;
  readonly prefix: number;
  /** True when the host bits are zero (EC2 rejects `10.0.0.1/16`). */
  readonly aligned: boolean;
}

/** Parses an IPv4 or IPv6 CIDR; undefined when it is not one. */
export function parseCidr(cidr: string): ParsedCidr | undefined {
  const slash = cidr.indexOf('/');
  if (slash < 0) return undefined;
  const address = cidr.slice(0, slash);
  const prefixText = cidr.slice(slash + 1);
  if (!/^[0-9]{1,3}$/.test(prefixText)) return undefined;
  const prefix = Number(prefixText);
  if (isIPv4(address)) {
    if (prefix > 32) return undefined;
    const value = address.split('.').reduce((acc, octet) => (acc << 8n) | BigInt(octet), 0n);
    return { version: 4, prefix, aligned: hostBitsZero(value, 32, prefix) };
  }
  if (isIPv6(address)) {
    if (prefix > 128) return undefined;
    return { version: 6, prefix, aligned: hostBitsZero(ipv6ToBigInt(address), 128, prefix) };
  }
  return undefined;
}

function hostBitsZero(value: bigint, bits: number, prefix: number): boolean {
  const hostBits = BigInt(bits - prefix);
  return (value & ((1n << hostBits) - 1n)) === 0n;
}

function ipv6ToBigInt(address: string): bigint {
  let text = address;
  // An embedded IPv4 tail (::ffff:10.0.0.1) becomes two hex groups.
  const v4 = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (v4) {
    const [a, b, c, d] = v4.slice(1).map(Number) as [number, number, number, number];
    text = `${text.slice(0, v4.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head = '', tail] = text.split('::');
  const headGroups = head ? head.split(':') : [];
  const tailGroups = tail ? tail.split(':') : [];
  const zeros = tail === undefined ? [] : Array(8 - headGroups.length - tailGroups.length).fill('0');
  return [...headGroups, ...zeros, ...tailGroups].reduce(
    (acc, group) => (acc << 16n) | BigInt(`0x${group}`),
    0n,
  );
}

/** IPv4 ranges no internet host uses: RFC 1918 and the shared address space of RFC 6598. */
const PRIVATE_IPV4_RANGES = ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', '100.64.0.0/10'] as const;

/**
 * True when `cidr` is an IPv4 network inside private address space (10/8, 172.16/12, 192.168/16,
 * 100.64/10). False for public IPv4 space, and for anything else (IPv6 VPC ranges are public
 * addresses, so nothing can be told from them).
 */
export function isPrivateIpv4Network(cidr: string): boolean {
  const network = ipv4Network(cidr);
  if (network === undefined) return false;
  return PRIVATE_IPV4_RANGES.some((range) => {
    const outer = ipv4Network(range) as { value: bigint; prefix: number };
    const shift = BigInt(32 - outer.prefix);
    return network.prefix >= outer.prefix && network.value >> shift === outer.value >> shift;
  });
}

function ipv4Network(cidr: string): { value: bigint; prefix: number } | undefined {
  const [address = '', prefixText = ''] = cidr.split('/');
  if (!isIPv4(address) || !/^[0-9]{1,2}$/.test(prefixText) || Number(prefixText) > 32) return undefined;
  const value = address.split('.').reduce((acc, octet) => (acc << 8n) | BigInt(octet), 0n);
  return { value, prefix: Number(prefixText) };
}

/** True when an IPv4 CIDR lies inside 10/8, 172.16/12 or 192.168/16. */
function isRfc1918(cidr: string): boolean {
  const [a = 0, b = 0] = cidr.split(/[./]/).map(Number);
  return a === 10 || (a === 172 && b >= 16 && b <= 31) || (a === 192 && b === 168);
}

const SECURITY_GROUP_ID = /^sg-([0-9a-f]{8}|[0-9a-f]{17})$/;
const VPC_ID = /^vpc-([0-9a-f]{8}|[0-9a-f]{17})$/;
const ACCOUNT_ID = /^[0-9]{12}$/;
/** The regions this aws-cdk-lib knows (its region-info facts): a typo such as eu-west-9 is not one. */
const REGIONS: readonly string[] = RegionInfo.regions.map((region) => region.name);

/** An environment-agnostic synth (no account or region) sees two AZs: Fn::GetAZs picked by index. */
const AGNOSTIC_AZS = 2;
const EMAIL = /^[^@\s]+@[^@\s]+\.[^@\s]+$/;
const DNS_LABEL = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

/**
 * The EventBridge cron expression of a stage's backups (used by the backup construct), e.g.
 * `cron(0 2 * * ? *)` for daily at 02:00 UTC, `cron(0 2,8,14,20 * * ? *)` every 6 hours.
 */
export function backupScheduleExpression(config: StageConfig): string {
  const interval = config.backupIntervalHours;
  const start = config.backupStartHourUtc;
  if (interval === 168) return `cron(0 ${start} ? * SUN *)`;
  if (interval === 1) return 'cron(0 * * * ? *)';
  const hours: number[] = [];
  for (let hour = start % interval; hour < 24; hour += interval) hours.push(hour);
  return `cron(0 ${hours.join(',')} * * ? *)`;
}

/** The problems of one stage's config, each naming the stage, field, value and what is allowed. */
export function validateStageConfig(config: StageConfig, environment: ResolvedEnvironment): string[] {
  const errors: string[] = [];
  const stage = config.stageName || '<unnamed>';
  const fail = (field: string, value: unknown, problem: string): void => {
    errors.push(`Stage '${stage}', field '${field}', value ${JSON.stringify(value)}: ${problem}`);
  };

  for (const { field, problem } of unknownFields(config)) {
    errors.push(`Stage '${stage}', field '${field}': ${problem}`);
  }

  if (!/^[A-Z][A-Za-z0-9]*$/.test(config.stageName)) {
    fail('stageName', config.stageName, 'Allowed: PascalCase letters and digits (e.g. Dev, Staging, Prod).');
  }
  if (!/^[a-z][a-z0-9-]{0,19}$/.test(config.envName)) {
    fail('envName', config.envName, 'Allowed: lower-case letters, digits and dashes, 1-20 characters.');
  }

  // Account and region.
  if (config.account !== undefined && !ACCOUNT_ID.test(config.account)) {
    fail('account', config.account, 'Allowed: a 12-digit AWS account id, or unset for CDK_DEFAULT_ACCOUNT.');
  }
  const region = config.region ?? environment.region;
  if (region !== undefined && !REGIONS.includes(region)) {
    fail(
      config.region === undefined
        ? 'region (from CDK_DEFAULT_REGION, i.e. AWS_REGION or the profile)'
        : 'region',
      region,
      `not a region AWS has. Allowed: one of ${REGIONS.join(', ')}; or unset for CDK_DEFAULT_REGION.`,
    );
  }

  // VPC.
  const vpc = config.vpc;
  if (vpc.kind === 'new') {
    const parsed = parseCidr(vpc.cidr);
    if (parsed?.version !== 4 || !parsed.aligned || parsed.prefix < 16 || parsed.prefix > 22) {
      fail(
        'vpc.cidr',
        vpc.cidr,
        'Allowed: an IPv4 network CIDR from /16 to /22 with zero host bits (e.g. 10.10.0.0/16).',
      );
    } else if (!isRfc1918(vpc.cidr)) {
      fail(
        'vpc.cidr',
        vpc.cidr,
        'Allowed: a private (RFC 1918) range inside 10.0.0.0/8, 172.16.0.0/12 or 192.168.0.0/16.',
      );
    }
    if (!Number.isInteger(vpc.maxAzs) || vpc.maxAzs < 2 || vpc.maxAzs > 3) {
      fail('vpc.maxAzs', vpc.maxAzs, 'Allowed: 2 or 3 (the task can move to another AZ if one fails).');
    } else if (vpc.maxAzs > AGNOSTIC_AZS && (!environment.account || !environment.region)) {
      // Without a concrete account and region CDK cannot look the AZs up: it silently builds 2.
      fail(
        'vpc.maxAzs',
        vpc.maxAzs,
        `this stage synthesizes environment-agnostic (account ${environment.account ?? 'unset'}, region ${environment.region ?? 'unset'}), ` +
          `which gives only ${AGNOSTIC_AZS} AZs: ${vpc.maxAzs} would silently become ${AGNOSTIC_AZS}. ` +
          `Allowed: ${AGNOSTIC_AZS}; or pin account and region in lib/config/${config.envName}.ts (the AZs are then looked up once and kept in cdk.context.json).`,
      );
    }
    for (const bucket of vpc.s3EndpointBuckets ?? []) {
      if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket)) {
        fail(
          'vpc.s3EndpointBuckets',
          bucket,
          'Allowed: S3 bucket names (3-63 lower-case letters, digits, dots, dashes).',
        );
      }
    }
  } else if (vpc.kind === 'imported') {
    if (!VPC_ID.test(vpc.vpcId)) {
      fail('vpc.vpcId', vpc.vpcId, "Allowed: a VPC id, 'vpc-' followed by 8 or 17 lower-case hex digits.");
    }
    if (!environment.account || !environment.region) {
      fail(
        'vpc.vpcId',
        vpc.vpcId,
        'Importing an existing VPC needs a concrete account and region (Vpc.fromLookup): set account and region in ' +
          `lib/config/${config.envName}.ts, or run with credentials so CDK_DEFAULT_ACCOUNT/CDK_DEFAULT_REGION are set. ` +
          `Resolved: account ${environment.account ?? 'unset'}, region ${environment.region ?? 'unset'}.`,
      );
    }
  } else {
    fail('vpc.kind', (vpc as { kind: unknown }).kind, "Allowed: 'new' or 'imported'.");
  }

  // Task size.
  const memories = FARGATE_CPU_MEMORY[config.taskCpu];
  if (!memories) {
    fail(
      'taskCpu',
      config.taskCpu,
      `Allowed Fargate CPU units: ${Object.keys(FARGATE_CPU_MEMORY).join(', ')}.`,
    );
  } else if (!memories.includes(config.taskMemoryMiB)) {
    fail(
      'taskMemoryMiB',
      config.taskMemoryMiB,
      `Fargate does not offer this memory with taskCpu ${config.taskCpu}. Allowed: ${describeMemories(memories)} (MiB).`,
    );
  }

  // Redis memory and eviction policy.
  const maxmemoryBytes = parseRedisMemory(config.maxmemory);
  if (maxmemoryBytes === undefined) {
    fail(
      'maxmemory',
      config.maxmemory,
      'Allowed: a Redis memory size, a positive number of bytes or a number followed by k, kb, m, mb, g or gb (e.g. 512mb).',
    );
  } else {
    const limitBytes = Math.floor(config.taskMemoryMiB * 1024 * 1024 * MAX_MEMORY_SHARE);
    if (maxmemoryBytes < 1024 * 1024) {
      fail('maxmemory', config.maxmemory, 'Allowed: at least 1mb.');
    } else if (Number.isFinite(limitBytes) && maxmemoryBytes > limitBytes) {
      fail(
        'maxmemory',
        config.maxmemory,
        `${formatMiB(maxmemoryBytes)} leaves no room for the fork of a BGSAVE or AOF rewrite in a ${config.taskMemoryMiB} MiB task. ` +
          `Allowed: at most ${MAX_MEMORY_SHARE * 100}% of taskMemoryMiB, i.e. ${Math.floor(limitBytes / 1024 / 1024)}mb.`,
      );
    }
  }
  if (!(EVICTION_POLICIES as readonly string[]).includes(config.maxmemoryPolicy)) {
    fail('maxmemoryPolicy', config.maxmemoryPolicy, `Allowed: ${EVICTION_POLICIES.join(', ')}.`);
  }

  // TLS.
  if (config.tls !== undefined && !TLS_MODES.includes(config.tls)) {
    fail(
      'tls',
      config.tls,
      "Allowed: 'off', 'transitional' (plaintext on 6379 and TLS on 6380, while consumers move) or 'required' (TLS only, the default).",
    );
  }

  // Password rotation.
  if (config.passwordRotationDays !== undefined) {
    if (
      !Number.isInteger(config.passwordRotationDays) ||
      config.passwordRotationDays < 1 ||
      config.passwordRotationDays > 365
    ) {
      fail(
        'passwordRotationDays',
        config.passwordRotationDays,
        'Allowed: a whole number of days from 1 to 365 (a client has one interval to pick up a new password at its next deploy).',
      );
    }
  } else if (config.retainData) {
    fail(
      'passwordRotationDays',
      undefined,
      'A stage that retains its data (prod) rotates its passwords: set a number of days (1 to 365, e.g. 30). Only a throwaway stage may leave it unset.',
    );
  }

  // Who may connect.
  config.clientSecurityGroupIds.forEach((id, index) => {
    if (!SECURITY_GROUP_ID.test(id)) {
      fail(
        `clientSecurityGroupIds[${index}]`,
        id,
        "Allowed: a security group id, 'sg-' followed by 8 or 17 lower-case hex digits.",
      );
    }
  });
  config.clientCidrs.forEach((cidr, index) => {
    const field = `clientCidrs[${index}]`;
    const parsed = parseCidr(cidr);
    if (!parsed) {
      fail(field, cidr, 'Allowed: an IPv4 or IPv6 CIDR such as 10.50.0.0/16.');
    } else if (parsed.prefix === 0) {
      fail(
        field,
        cidr,
        'Redis must never be open to the whole internet. Allowed: a specific network, at most /8 (IPv4) or /32 (IPv6) wide.',
      );
    } else if ((parsed.version === 4 && parsed.prefix < 8) || (parsed.version === 6 && parsed.prefix < 32)) {
      fail(field, cidr, 'Too wide. Allowed: a specific network, at most /8 (IPv4) or /32 (IPv6) wide.');
    } else if (!parsed.aligned) {
      fail(
        field,
        cidr,
        'Host bits are set (EC2 rejects it). Allowed: the network address, e.g. 10.50.0.0/16.',
      );
    }
  });

  // Backups.
  const interval = config.backupIntervalHours;
  if (!(BACKUP_INTERVAL_HOURS as readonly number[]).includes(interval)) {
    fail(
      'backupIntervalHours',
      interval,
      `Allowed: ${BACKUP_INTERVAL_HOURS.join(', ')} (24 = daily, 168 = weekly).`,
    );
  }
  if (
    !Number.isInteger(config.backupStartHourUtc) ||
    config.backupStartHourUtc < 0 ||
    config.backupStartHourUtc > 23
  ) {
    fail('backupStartHourUtc', config.backupStartHourUtc, 'Allowed: an integer hour from 0 to 23 (UTC).');
  }
  const retention = config.backupRetentionDays;
  if (!Number.isInteger(retention) || retention < 1 || retention > 3650) {
    fail('backupRetentionDays', retention, 'Allowed: an integer number of days from 1 to 3650.');
  } else if (Number.isFinite(interval) && retention * 24 < 2 * interval) {
    fail(
      'backupRetentionDays',
      retention,
      `Shorter than two backup intervals (backupIntervalHours ${interval}): a failed backup would leave no backup at all. ` +
        `Allowed: at least ${Math.ceil((2 * interval) / 24)} days.`,
    );
  }

  const cold = config.backupColdStorageAfterDays;
  if (cold !== undefined && (!Number.isInteger(cold) || cold < 1 || !(cold < retention))) {
    fail(
      'backupColdStorageAfterDays',
      cold,
      `Allowed: an integer number of days from 1 to less than backupRetentionDays (${retention}), or unset.`,
    );
  }

  if (config.alarmEmail !== undefined && !EMAIL.test(config.alarmEmail)) {
    fail('alarmEmail', config.alarmEmail, 'Allowed: an e-mail address (name@example.com), or unset.');
  }
  if (config.alarmsNotifyNobody !== undefined && typeof config.alarmsNotifyNobody !== 'boolean') {
    fail('alarmsNotifyNobody', config.alarmsNotifyNobody, 'Allowed: true, false, or unset.');
  } else if (config.alarmsNotifyNobody === true && config.alarmEmail !== undefined) {
    fail(
      'alarmsNotifyNobody',
      true,
      `contradicts alarmEmail ${JSON.stringify(config.alarmEmail)}. Allowed: one of the two.`,
    );
  } else if (
    config.retainData === true &&
    config.alarmEmail === undefined &&
    config.alarmsNotifyNobody !== true
  ) {
    fail(
      'alarmEmail',
      undefined,
      'a retained stage holds data someone cares about, and its alarms would notify nobody. Allowed: the on-call address; or alarmsNotifyNobody: true to say explicitly that nobody is to be notified (e.g. the alarm topic is subscribed outside this app).',
    );
  }
  errors.push(...validateMonitoring(config));
  errors.push(...validateEngine(config));
  if (typeof config.retainData !== 'boolean') {
    fail('retainData', config.retainData, 'Allowed: true or false.');
  }
  if (!(LOG_RETENTION_DAYS as readonly number[]).includes(config.logRetentionDays)) {
    fail(
      'logRetentionDays',
      config.logRetentionDays,
      `Allowed (CloudWatch Logs): ${LOG_RETENTION_DAYS.join(', ')}.`,
    );
  }
  const labels = config.dnsNamespace.split('.');
  if (
    config.dnsNamespace.length > 253 ||
    labels.length < 2 ||
    !labels.every((label) => DNS_LABEL.test(label))
  ) {
    fail(
      'dnsNamespace',
      config.dnsNamespace,
      'Allowed: a lower-case DNS name of at least two labels (letters, digits, dashes), e.g. dev.emailclient.internal.',
    );
  }
  return errors;
}

/**
 * Validates every stage and throws ONE error listing all problems (of all stages), so a broken
 * config is fixed in one round. Also rejects stages that would collide with each other.
 */
export function validateStageConfigs(
  configs: readonly StageConfig[],
  env: CdkDefaultEnv,
): Map<StageConfig, ResolvedEnvironment> {
  const errors: string[] = [];
  const resolved = new Map<StageConfig, ResolvedEnvironment>();
  for (const config of configs) {
    const environment = resolveEnvironment(config, env);
    resolved.set(config, environment);
    errors.push(...validateStageConfig(config, environment));
  }
  for (const field of ['stageName', 'envName', 'dnsNamespace'] as const) {
    const seen = new Set<string>();
    for (const config of configs) {
      if (seen.has(config[field])) {
        errors.push(
          `Stage '${config.stageName}', field '${field}', value ${JSON.stringify(config[field])}: used by another stage. Allowed: a value unique across stages.`,
        );
      }
      seen.add(config[field]);
    }
  }
  if (errors.length > 0) {
    throw new Error(
      `Invalid stage configuration (${errors.length} problem(s)):\n  - ${errors.join('\n  - ')}`,
    );
  }
  return resolved;
}

function describeMemories(memories: readonly number[]): string {
  const first = memories[0];
  const last = memories[memories.length - 1];
  const step = memories.length > 1 ? (memories[1] ?? 0) - (first ?? 0) : 0;
  return memories.length > 3 ? `${first} to ${last} in steps of ${step}` : memories.join(', ');
}

function formatMiB(bytes: number): string {
  return `${Math.round((bytes / 1024 / 1024) * 10) / 10} MiB`;
}
