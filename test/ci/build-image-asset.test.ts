import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from '../../ops/local/redis-process';
import { makeTempDir, removeTempDir } from '../../ops/local/temp-dir';
import { type SynthesizedApp, synthesize } from '../lib/synth';
import { DOCKER_ENV, dockerOk, requireDocker, TEST_BASE_IMAGE } from '../support/docker';

// One image, promoted: the check job builds the Redis image of the synthesized assembly once, under
// the tag the CDK CLI publishes from, and every deploy job loads that very image (no job rebuilds).
describe('.ci/build-image-asset', () => {
  let synthesized: SynthesizedApp;
  let output: string;
  let result: { status: number | null; stdout: string; stderr: string };

  beforeAll(() => {
    requireDocker();
    synthesized = synthesize();
    output = makeTempDir('redis-image');
    const run = spawnSync('bash', [join(REPO_ROOT, '.ci/build-image-asset'), synthesized.outdir, output], {
      env: { ...DOCKER_ENV, BASE_IMAGE: TEST_BASE_IMAGE },
      encoding: 'utf8',
      timeout: 600_000,
    });
    result = { status: run.status, stdout: run.stdout, stderr: run.stderr };
  }, 600_000);
  afterAll(() => {
    synthesized?.cleanup();
    if (output) removeTempDir(output);
  });

  it("builds the one image asset all three stages share, under the CDK CLI's local tag, and saves it", () => {
    expect({ status: result.status, error: result.status === 0 ? '' : result.stderr }).toEqual({
      status: 0,
      error: '',
    });
    const manifests = ['Dev', 'Staging', 'Prod'].map((stage) => {
      const dir = join(synthesized.outdir, `assembly-${stage}`);
      const file = readFileSync(join(dir, 'manifest.json'), 'utf8');
      const assets = JSON.parse(file).artifacts as Record<
        string,
        { type: string; properties?: { file?: string } }
      >;
      const manifest = Object.values(assets).find((artifact) => artifact.type === 'cdk:asset-manifest');
      return JSON.parse(readFileSync(join(dir, manifest?.properties?.file ?? ''), 'utf8'))
        .dockerImages as Record<string, unknown>;
    });
    const ids = manifests.map((images) => Object.keys(images));
    expect(ids[0]).toHaveLength(1);
    expect(ids[1]).toEqual(ids[0]);
    expect(ids[2]).toEqual(ids[0]);
    const tag = readFileSync(join(output, 'local-tag'), 'utf8').trim();
    expect(tag).toBe(`cdkasset-${ids[0]?.[0]}`);
    const imageId = readFileSync(join(output, 'image-id'), 'utf8').trim();
    expect(imageId).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect(dockerOk(['image', 'inspect', '--format', '{{.Id}}', tag])).toBe(imageId);
    expect(existsSync(join(output, 'redis-image.tar'))).toBe(true);
    expect(result.stdout).toContain(`Redis image ${imageId}, built once as ${tag} for every stage`);
  });
});
