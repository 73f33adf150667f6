import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { backupCommand } from '../../ops/commands/backup';
import { metricsCommand } from '../../ops/commands/metrics';
import { restoreCommand } from '../../ops/commands/restore';
import { snapshotsCommand } from '../../ops/commands/snapshots';
import { verifyCommand } from '../../ops/commands/verify';
import { REPO_ROOT } from '../../ops/local/redis-process';
import { version } from '../../package.json';
import { runOps } from '../support/ops-cli';

const COMMANDS = ['backup', 'snapshots', 'verify', 'restore', 'metrics'];

/** `node ops/launch.cjs <entry> <args>`, as npm run ops / drill / s3:local run it. */
function runTool(
  entry: string,
  args: string[],
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [join(REPO_ROOT, 'ops/launch.cjs'), entry, ...args], {
      cwd: REPO_ROOT,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

describe('ops help', () => {
  it('lists every command with a one-line summary', async () => {
    const result = await runOps(['help']);
    expect(result.code).toBe(0);
    for (const command of COMMANDS)
      expect(result.stdout).toMatch(new RegExp(`^  ${command}\\b.* {2,}\\S`, 'm'));
  });

  it.each(COMMANDS)(
    'help %s: usage, every option explained, examples, environment and exit codes',
    async (command) => {
      const result = await runOps(['help', command]);
      expect(result.code).toBe(0);
      const help = result.stdout;
      expect(help).toMatch(new RegExp(`^Usage: npm run -s ops -- ${command} `, 'm'));
      // Every option the command has is in its help, with its explanation.
      const spec = [backupCommand, snapshotsCommand, verifyCommand, restoreCommand, metricsCommand].find(
        (candidate) => candidate.name === command,
      );
      expect(spec?.options.length).toBeGreaterThan(0);
      const options = help
        .slice(help.indexOf('\nOptions:\n'), help.indexOf('\nExamples:\n'))
        .replace(/\s+/g, ' ');
      for (const option of spec?.options ?? []) {
        expect(option.description.length).toBeGreaterThan(10);
        expect(options).toContain(`${option.flags} ${option.description.replace(/\s+/g, ' ')}`);
      }
      expect(help).toMatch(/\nExamples:\n {2}(\$ .*npm run -s ops -- |# )/);
      expect(help).toMatch(/\nEnvironment:\n {2}\S/);
      expect(help).toMatch(/\nExit codes:\n {2}0 +\S.*\n {2}1 +\S.*\n {2}2 +\S/);
      // --help on the command prints the same
      const same = await runOps([command, '--help']);
      expect(same.stdout).toBe(help);
    },
  );

  it('--version prints the package version', async () => {
    const result = await runOps(['--version']);
    expect(result.code).toBe(0);
    expect(result.stdout.trim()).toBe(version);
  });

  it('no command: the help on stderr and exit 2 (wrong usage)', async () => {
    const result = await runOps([]);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/^Usage: npm run -s ops -- <command> \[options\]/);
  });
});

describe('npm run drill -- --help and npm run s3:local -- --help', () => {
  it.each([
    ['ops/drill.ts', /^Usage: npm run drill -- \[--destroy flushall\|delete\] \[--size-mb <n>\]/],
    ['ops/local/s3-local.ts', /^Usage: npm run s3:local -- \[options\]/],
  ])('%s --help explains its options and exit codes', async (entry, usage) => {
    const result = await runTool(entry, ['--help']);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(usage);
    expect(result.stdout).toMatch(/\nExit codes:\n {2}0 /);
  });

  it('drill refuses an unknown destroy mode with exit 2, naming the allowed ones', async () => {
    const result = await runTool('ops/drill.ts', ['--destroy', 'burn']);
    expect(result.code).toBe(2);
    expect(result.stderr).toMatch(/argument 'burn' is invalid\. Allowed choices are flushall, delete/);
  });
});
