import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';

/**
 * The checkout's root: the nearest folder above this file with a cdk.json. Found by walking up,
 * because this code also runs from a bundle in node_modules/.cache (ops/launch.cjs).
 */
function findRepoRoot(start: string): string {
  for (let folder = start; ; folder = dirname(folder)) {
    if (existsSync(join(folder, 'cdk.json'))) return folder;
    if (dirname(folder) === folder) throw new Error(`no cdk.json above ${start}: not inside the checkout`);
  }
}

export const REPO_ROOT = findRepoRoot(__dirname);
