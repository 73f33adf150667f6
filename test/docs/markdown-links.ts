/**
 * Checks that every relative link and `#anchor` in README.md and docs/**\/*.md resolves: the
 * target file exists, and an anchor matches a heading of the target Markdown file as GitHub slugs
 * it (github-slugger, duplicates get -1, -2...). Links are read with marked's lexer, so code
 * blocks and code spans are never taken for links. Absolute URLs (http:, https:, mailto:...) are
 * not checked.
 *
 *   npx tsx test/docs/markdown-links.ts [--root <dir>] [file.md ...]
 *
 * Prints one line per broken link, `file: link -> reason`, on stderr and exits 1 if there is any.
 * It runs as its own process because marked and github-slugger are ES modules, which Jest's
 * CommonJS runtime cannot load on Node 20 (test/docs/links.test.ts runs it).
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, extname, join, relative, resolve } from 'node:path';
import GithubSlugger from 'github-slugger';
import { Lexer, type Token, type Tokens } from 'marked';

/** README.md and every Markdown file under docs/, as paths relative to `root`. */
export function documentationFiles(root: string): string[] {
  const files = existsSync(join(root, 'README.md')) ? ['README.md'] : [];
  const docs = join(root, 'docs');
  if (existsSync(docs)) {
    for (const entry of readdirSync(docs, { recursive: true, encoding: 'utf8' }).sort()) {
      if (entry.endsWith('.md')) files.push(join('docs', entry));
    }
  }
  return files;
}

/** Every token of the document, nested ones included (link text, list items, table cells...). */
function allTokens(markdown: string): Token[] {
  const lexer = new Lexer();
  const tokens = lexer.lex(markdown);
  const out: Token[] = [];
  const visit = (list: readonly Token[]): void => {
    for (const token of list) {
      out.push(token);
      if (token.type === 'table') {
        const table = token as Tokens.Table;
        for (const cell of table.header) visit(cell.tokens);
        for (const row of table.rows) for (const cell of row) visit(cell.tokens);
      } else if (token.type === 'list') {
        visit((token as Tokens.List).items);
      } else if ('tokens' in token && Array.isArray(token.tokens)) {
        visit(token.tokens);
      }
    }
  };
  visit(tokens);
  return out;
}

/** The text a heading renders to (code spans, emphasis and link texts without their markup). */
function plainText(tokens: readonly Token[] | undefined, fallback: string): string {
  if (tokens === undefined) return fallback;
  return tokens
    .map((token) =>
      'tokens' in token && Array.isArray(token.tokens)
        ? plainText(token.tokens, '')
        : 'text' in token
          ? decodeEntities(String(token.text))
          : '',
    )
    .join('');
}

function decodeEntities(text: string): string {
  return text
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&#39;/g, "'")
    .replace(/&amp;/g, '&');
}

/** The anchors GitHub gives the headings of a Markdown document. */
export function headingAnchors(markdown: string): Set<string> {
  const slugger = new GithubSlugger();
  const anchors = new Set<string>();
  for (const token of allTokens(markdown)) {
    if (token.type === 'heading') {
      const heading = token as Tokens.Heading;
      anchors.add(slugger.slug(plainText(heading.tokens, heading.text)));
    }
  }
  return anchors;
}

/** The link and image targets of a Markdown document, in order. */
export function linkTargets(markdown: string): string[] {
  return allTokens(markdown)
    .filter((token) => token.type === 'link' || token.type === 'image')
    .map((token) => (token as Tokens.Link | Tokens.Image).href);
}

/** `scheme:...` or `//host`: not a file of this repository. */
function isExternal(href: string): boolean {
  return /^[a-z][a-z0-9+.-]*:/i.test(href) || href.startsWith('//');
}

/** Broken links of `files` (paths relative to `root`), one `file: link -> reason` each. */
export function checkMarkdownLinks(root: string, files: readonly string[]): string[] {
  const problems: string[] = [];
  const anchorCache = new Map<string, Set<string>>();
  const anchorsOf = (absolute: string): Set<string> => {
    let anchors = anchorCache.get(absolute);
    if (anchors === undefined) {
      anchors = headingAnchors(readFileSync(absolute, 'utf8'));
      anchorCache.set(absolute, anchors);
    }
    return anchors;
  };

  for (const file of files) {
    const source = resolve(root, file);
    for (const href of linkTargets(readFileSync(source, 'utf8'))) {
      if (isExternal(href)) continue;
      const hash = href.indexOf('#');
      const pathPart = hash === -1 ? href : href.slice(0, hash);
      const anchor = hash === -1 ? undefined : safeDecode(href.slice(hash + 1));
      const path = safeDecode(pathPart.split('?')[0] ?? '');
      const report = (reason: string) => problems.push(`${file}: ${href} -> ${reason}`);

      let target = source;
      if (path !== '') {
        target = path.startsWith('/') ? join(resolve(root), path) : resolve(dirname(source), path);
        if (!existsSync(target)) {
          report(`${relative(root, target)} does not exist`);
          continue;
        }
      }
      if (anchor === undefined) continue;
      if (anchor === '') {
        report('empty anchor');
        continue;
      }
      if (statSync(target).isDirectory()) target = join(target, 'README.md');
      if (extname(target).toLowerCase() !== '.md' || !existsSync(target)) {
        report(`cannot check #${anchor}: ${relative(root, target)} is not a Markdown file`);
        continue;
      }
      if (!anchorsOf(target).has(anchor)) {
        report(`no heading with anchor #${anchor} in ${relative(root, target)}`);
      }
    }
  }
  return problems;
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

if (require.main === module) {
  const args = process.argv.slice(2);
  const rootIndex = args.indexOf('--root');
  const root = rootIndex === -1 ? process.cwd() : resolve(args[rootIndex + 1] ?? '.');
  if (rootIndex !== -1) args.splice(rootIndex, 2);
  const files = args.length > 0 ? args : documentationFiles(root);
  const problems = checkMarkdownLinks(root, files);
  for (const problem of problems) process.stderr.write(`${problem}\n`);
  process.stdout.write(
    `${files.length} Markdown files checked, ${problems.length} broken link${problems.length === 1 ? '' : 's'}\n`,
  );
  process.exitCode = problems.length === 0 ? 0 : 1;
}
