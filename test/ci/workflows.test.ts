import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

const REPO_ROOT = join(__dirname, '..', '..');
const WORKFLOWS = join(REPO_ROOT, '.github', 'workflows');
const workflowFiles = readdirSync(WORKFLOWS).filter((name) => /\.ya?ml$/.test(name));

describe.each(workflowFiles)('.github/workflows/%s', (file) => {
  it('is a valid GitHub Actions workflow (action-validator)', () => {
    const result = spawnSync('npx', ['action-validator', join(WORKFLOWS, file)], {
      cwd: REPO_ROOT,
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect({ status: result.status, output: `${result.stdout}${result.stderr}`.trim() }).toEqual({
      status: 0,
      output: '',
    });
  });

  it('stores no AWS keys: AWS access is OIDC role assumption only', () => {
    const text = readFileSync(join(WORKFLOWS, file), 'utf8');
    expect(text).not.toMatch(
      /aws-access-key-id|aws-secret-access-key|AWS_ACCESS_KEY_ID|AWS_SECRET_ACCESS_KEY/,
    );
  });
});

/**
 * The jobs of pipeline.yml, each as its block of text. The file is ours and keeps GitHub's usual
 * layout (jobs at two spaces), which is all this needs; action-validator checks the schema.
 */
function jobs(text: string): Record<string, string> {
  const body = text.slice(text.search(/^jobs:\s*$/m));
  const result: Record<string, string> = {};
  const headers = [...body.matchAll(/^ {2}([A-Za-z0-9_-]+):\s*$/gm)];
  headers.forEach((header, index) => {
    const end = headers[index + 1]?.index ?? body.length;
    result[header[1] as string] = body.slice(header.index, end);
  });
  return result;
}

describe('pipeline.yml: synth once, promote the same assembly dev -> staging -> prod', () => {
  const text = readFileSync(join(WORKFLOWS, 'pipeline.yml'), 'utf8');
  const pipeline = jobs(text);

  it('runs on pull requests and on pushes to main', () => {
    expect(text).toMatch(/^on:\n {2}pull_request:\n {2}push:\n {4}branches: \[main\]$/m);
  });

  it('checks lint, types, tests (through .ci/run, which installs the system tools) and synth', () => {
    const check = pipeline.check ?? '';
    expect(check).toContain('run: bash .ci/run');
    expect(check).toContain('run: npx cdk synth --quiet --output cdk.out');
    const ciRun = readFileSync(join(WORKFLOWS, '..', '..', '.ci', 'run'), 'utf8');
    for (const step of [
      'bash .ci/prepare-machine',
      'npm ci',
      'npm run lint',
      'npm run typecheck',
      'npm run check:engine',
      'npm test',
    ])
      expect(ciRun).toContain(step);
    const prepare = readFileSync(join(WORKFLOWS, '..', '..', '.ci', 'prepare-machine'), 'utf8');
    for (const tool of ['shellcheck', 'docker-compose', 'docker.io', 'debootstrap']) {
      expect(prepare).toContain(`needed+=(${tool})`);
    }
    // Redis at exactly the image's version, not whatever apt offers.
    for (const redis of ['redis-server', 'redis-tools']) {
      expect(prepare).toContain(`needed+=("${redis}=$redis_pin")`);
    }
  });

  it('synthesizes exactly once and uploads that assembly on main only', () => {
    expect(text.match(/cdk synth/g)).toHaveLength(1);
    expect(pipeline.check).toMatch(
      /if: github\.event_name == 'push' && github\.ref == 'refs\/heads\/main'\n\s+uses: actions\/upload-artifact@[0-9a-f]{40} # v[\d.]+\n\s+with:\n\s+name: cdk-assembly\n\s+path: cdk\.out/,
    );
  });

  it('builds the Redis image once, in the check job, and keeps it beside the assembly', () => {
    const check = pipeline.check ?? '';
    expect(check).toContain('run: bash .ci/build-image-asset cdk.out redis-image');
    expect(check.indexOf('cdk synth')).toBeLessThan(check.indexOf('build-image-asset'));
    expect(check).toMatch(
      /uses: actions\/upload-artifact@[0-9a-f]{40} # v[\d.]+\n\s+with:\n\s+name: redis-image\n\s+path: redis-image/,
    );
  });

  it.each([
    ['deploy-dev', 'check', 'dev', 'Dev'],
    ['deploy-staging', 'deploy-dev', 'staging', 'Staging'],
    ['deploy-prod', 'deploy-staging', 'production', 'Prod'],
  ])(
    '%s needs %s and calls the one deploy workflow with environment %s and stage %s',
    (job, needs, environment, stage) => {
      const block = pipeline[job] ?? '';
      expect(block).toMatch(new RegExp(`^ {4}needs: ${needs}$`, 'm'));
      expect(block).toMatch(/^ {4}uses: \.\/\.github\/workflows\/deploy-stage\.yml$/m);
      expect(block).toMatch(new RegExp(`^ {6}stage: ${stage}$`, 'm'));
      expect(block).toMatch(new RegExp(`^ {6}environment: ${environment}$`, 'm'));
      expect(block).toMatch(/permissions:\n\s+contents: read\n\s+id-token: write/);
      expect(block).not.toMatch(/steps:|cdk synth|docker build/);
    },
  );
});

describe('deploy-stage.yml: one stage, from the assembly and the image the check job made', () => {
  const text = readFileSync(join(WORKFLOWS, 'deploy-stage.yml'), 'utf8');

  it('is called by the pipeline only, with the stage and its environment', () => {
    expect(text).toMatch(/^on:\n {2}workflow_call:\n {4}inputs:\n {6}stage:/m);
    expect(text).toMatch(/^ {4}environment: \$\{\{ inputs\.environment \}\}$/m);
  });

  it('builds nothing: it loads the saved image under its CDK tag, checks and prints its digest, then deploys', () => {
    expect(text).not.toMatch(/docker build|build-image-asset|cdk synth|npm run|npx tsx/);
    expect(text).toContain('docker load --input redis-image/redis-image.tar');
    // After the deploy: the digest ECR holds for the stage's image, what its tasks run.
    expect(text).toMatch(/run: bash \.ci\/print-deployed-image '\$\{\{ inputs\.stage \}\}' cdk\.out/);
    expect(text.indexOf('cdk deploy')).toBeLessThan(text.indexOf('print-deployed-image'));
    expect(text).toMatch(
      /run: npx cdk deploy --app cdk\.out '\$\{\{ inputs\.stage \}\}\/\*' --require-approval never/,
    );
    // The downloads before the credentials, the credentials before the deploy.
    expect(text.lastIndexOf('download-artifact')).toBeLessThan(text.indexOf('configure-aws-credentials'));
    expect(text.indexOf('docker load')).toBeLessThan(text.indexOf('cdk deploy'));
    expect(text.indexOf('configure-aws-credentials')).toBeLessThan(text.indexOf('cdk deploy'));
    expect(text).toMatch(/role-to-assume: \$\{\{ vars\.AWS_DEPLOY_ROLE_ARN \}\}/);
    expect(text).toMatch(/permissions:\n\s+contents: read\n\s+id-token: write/);
  });
});

describe.each(workflowFiles)('%s: third-party code', (file) => {
  it('pins every action by commit SHA, with its tag in a comment', () => {
    const text = readFileSync(join(WORKFLOWS, file), 'utf8');
    const uses = [...text.matchAll(/uses: (\S+)(.*)$/gm)].map((match) => `${match[1]}${match[2]}`);
    expect(uses.length).toBeGreaterThan(0);
    for (const use of uses) {
      if (use.startsWith('./')) continue;
      expect(use).toMatch(/^[\w.-]+\/[\w.-]+@[0-9a-f]{40} # v\d+\.\d+\.\d+$/);
    }
  });
});

describe('pipeline.yml jobs', () => {
  const text = readFileSync(join(WORKFLOWS, 'pipeline.yml'), 'utf8');
  const pipeline = jobs(text);

  it('deploys only from main', () => {
    expect(pipeline['deploy-dev']).toMatch(
      /^ {4}if: github\.event_name == 'push' && github\.ref == 'refs\/heads\/main'$/m,
    );
    expect(Object.keys(pipeline).sort()).toEqual(['check', 'deploy-dev', 'deploy-prod', 'deploy-staging']);
  });

  it('grants no write permission by default', () => {
    expect(text).toMatch(/^permissions:\n {2}contents: read\n\n/m);
  });
});
