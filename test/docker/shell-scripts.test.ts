import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from '../../ops/local/redis-process';

// Every shell script we ship or run passes shellcheck (the image's /bin/sh is dash: POSIX only).
describe('shell scripts', () => {
  const scripts = [
    ...readdirSync(join(REPO_ROOT, 'docker/redis'))
      .filter((file) => file.endsWith('.sh'))
      .map((file) => join(REPO_ROOT, 'docker/redis', file)),
    join(REPO_ROOT, '.ci/run'),
    join(REPO_ROOT, '.ci/prepare-machine'),
    join(REPO_ROOT, '.ci/build-image-asset'),
    join(REPO_ROOT, '.ci/print-deployed-image'),
    join(REPO_ROOT, 'docker/check-engine.sh'),
  ];

  it.each(scripts)('%s passes shellcheck', (script) => {
    const result = spawnSync('shellcheck', [script], { encoding: 'utf8' });
    expect(result.stdout).toBe('');
    expect(result.status).toBe(0);
  });
});
