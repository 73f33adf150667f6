import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

// The checker runs as its own process (tsx): marked and github-slugger are ES modules, which
// Jest's CommonJS runtime cannot load here.
const repoRoot = join(__dirname, '..', '..');
const checker = join(__dirname, 'markdown-links.ts');

function check(root: string): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(process.execPath, ['--import', 'tsx', checker, '--root', root], {
    cwd: repoRoot,
    encoding: 'utf8',
  });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

describe('documentation links', () => {
  test('every relative link and #anchor in README.md and docs/ resolves', () => {
    const result = check(repoRoot);
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    expect(result.stdout).toMatch(/^\d+ Markdown files checked, 0 broken links/);
  });

  describe('the checker', () => {
    let root: string;
    beforeEach(() => {
      root = mkdtempSync(join(tmpdir(), 'docs-links-'));
      mkdirSync(join(root, 'docs'));
    });
    afterEach(() => rmSync(root, { recursive: true, force: true }));

    test('reports broken files and anchors, and accepts good ones', () => {
      writeFileSync(
        join(root, 'README.md'),
        [
          '# Title',
          '',
          '## Restore prod from the snapshot of 02:00',
          '',
          '## Twice',
          '',
          '## Twice',
          '',
          '[ok](#restore-prod-from-the-snapshot-of-0200) [dup](#twice-1) [page](docs/page.md#the-image-dockerredis)',
          '[abs](https://example.com/#nothing) [dir](docs/)',
          '[broken anchor](#no-such-heading)',
          '[broken file](docs/missing.md)',
          '[broken remote anchor](docs/page.md#nope)',
          '',
          '| Page | Where |',
          '|---|---|',
          '| [in a table](#not-here) | - [in a list](docs/gone-too.md) |',
          '',
          '- [in a list item](#twice) and a [reference link][ref]',
          '',
          '[ref]: docs/page.md#missing-ref',
          '',
          '`[in a code span](docs/ignored.md)`',
          '',
          '```md',
          '[in a code block](docs/ignored-too.md)',
          '```',
        ].join('\n'),
      );
      writeFileSync(
        join(root, 'docs', 'page.md'),
        '# Page\n\n## The image (`docker/redis`)\n\n[up](../README.md#twice)\n',
      );

      const result = check(root);

      expect(result.status).toBe(1);
      expect(result.stderr.trim().split('\n')).toEqual([
        'README.md: #no-such-heading -> no heading with anchor #no-such-heading in README.md',
        'README.md: docs/missing.md -> docs/missing.md does not exist',
        'README.md: docs/page.md#nope -> no heading with anchor #nope in docs/page.md',
        'README.md: #not-here -> no heading with anchor #not-here in README.md',
        'README.md: docs/gone-too.md -> docs/gone-too.md does not exist',
        'README.md: docs/page.md#missing-ref -> no heading with anchor #missing-ref in docs/page.md',
      ]);
      expect(result.stdout).toMatch(/2 Markdown files checked, 6 broken links/);
    });
  });
});
