import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  GetSecretValueCommand,
  type GetSecretValueCommandInput,
  PutSecretValueCommand,
  type PutSecretValueCommandInput,
  ResourceNotFoundException,
  type SecretsManagerClientResolvedConfig,
  type ServiceInputTypes,
  type ServiceOutputTypes,
} from '@aws-sdk/client-secrets-manager';
import type { AwsStub } from 'aws-sdk-client-mock';
import type { CertificateLogger } from '../../../lambda/tls-certificates/manage';

export const CA_SECRET = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:dev-redis-tls-ca-AbCdEf';
export const SERVER_SECRET =
  'arn:aws:secretsmanager:eu-west-1:123456789012:secret:dev-redis-tls-server-GhIjKl';
/** What CDK writes into both secrets at creation (a generated string, no `certificate`). */
export const PLACEHOLDER = JSON.stringify({ placeholder: 'x8Vq2mZ0pLr5' });

type SecretsStub = AwsStub<ServiceInputTypes, ServiceOutputTypes, SecretsManagerClientResolvedConfig>;

/**
 * Secrets Manager as an in-memory store on a mocked client: PutSecretValue then GetSecretValue
 * round-trips, a secret without a value answers like the real service. `writes` lists every
 * PutSecretValue in order; `beforeWrite` may change what is stored (a concurrent writer).
 */
export function secretStore(mock: SecretsStub, initial: Record<string, string | undefined>) {
  const values = new Map<string, string>();
  for (const [id, value] of Object.entries(initial)) if (value !== undefined) values.set(id, value);
  const writes: { secretId: string; value: string }[] = [];
  const store = {
    values,
    writes,
    beforeWrite: undefined as ((secretId: string, value: string) => string) | undefined,
    json(secretId: string): Record<string, unknown> {
      const value = values.get(secretId);
      if (value === undefined) throw new Error(`no value in ${secretId}`);
      return JSON.parse(value) as Record<string, unknown>;
    },
    writesTo(secretId: string): number {
      return writes.filter((write) => write.secretId === secretId).length;
    },
  };
  mock.on(GetSecretValueCommand).callsFake((input: GetSecretValueCommandInput) => {
    const value = values.get(input.SecretId ?? '');
    if (value === undefined)
      throw new ResourceNotFoundException({
        message: "Secrets Manager can't find the specified secret value for staging label: AWSCURRENT",
        $metadata: {},
      });
    return { ARN: input.SecretId, SecretString: value };
  });
  mock.on(PutSecretValueCommand).callsFake((input: PutSecretValueCommandInput) => {
    const secretId = input.SecretId ?? '';
    const written = input.SecretString ?? '';
    values.set(secretId, store.beforeWrite ? store.beforeWrite(secretId, written) : written);
    writes.push({ secretId, value: written });
    return { ARN: secretId, VersionId: `v${writes.length}` };
  });
  return store;
}

/** A logger that keeps every call, serialized, so tests can search everything that was logged. */
export function recordingLogger(): { logger: CertificateLogger; lines: string[]; text: () => string } {
  const lines: string[] = [];
  const record =
    (level: string) =>
    (message: string, ...attributes: Record<string, unknown>[]) =>
      lines.push(JSON.stringify({ level, message, attributes }));
  return {
    logger: { info: record('info'), warn: record('warn'), error: record('error') },
    lines,
    text: () => lines.join('\n'),
  };
}

/** The base64 body of a PEM (the part that would leak a key even without its header lines). */
export function pemBody(pem: string): string {
  return pem
    .split('\n')
    .filter((line) => line !== '' && !line.startsWith('-----'))
    .join('');
}

/** A temp directory for PEM files, removed by `cleanup`. */
export function pemDir(): {
  dir: string;
  write: (name: string, text: string) => string;
  cleanup: () => void;
} {
  const dir = mkdtempSync(join(tmpdir(), 'tls-certificates-'));
  return {
    dir,
    write: (name, text) => {
      const file = join(dir, name);
      writeFileSync(file, text, { mode: 0o600 });
      return file;
    },
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

/** Debian's openssl: stdout on success; on failure `{ status, output }` instead of throwing. */
export function openssl(...args: string[]): { status: number; output: string } {
  try {
    return { status: 0, output: execFileSync('openssl', args, { stdio: 'pipe', encoding: 'utf8' }) };
  } catch (error) {
    const failure = error as { status?: number; stdout?: string; stderr?: string };
    return { status: failure.status ?? 1, output: `${failure.stdout ?? ''}${failure.stderr ?? ''}` };
  }
}

export const DAY_MS = 86_400_000;
