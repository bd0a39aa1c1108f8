/**
 * The Markdown files of the repository link only to files in it: relative
 * links that resolve to existing files without leaving the root, anchors that
 * exist; no URL, no absolute path. And no file mentions an interface
 * document kept outside the repository.
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, extname, join, relative, resolve, sep } from 'node:path';

/** Directories not walked: .git and the names .gitignore gives without a wildcard (`dist/`, `node_modules`). */
export function ignoredDirectories(root: string): Set<string> {
  const ignored = new Set(['.git']);
  for (const line of readFileSync(join(root, '.gitignore'), 'utf8').split('\n')) {
    const name = line.trim();
    if (name === '' || name.startsWith('#') || /[*?[\]!]/.test(name)) continue;
    ignored.add(name.endsWith('/') ? name.slice(0, -1) : name);
  }
  return ignored;
}

export function repositoryFiles(root: string, ignored: ReadonlySet<string> = ignoredDirectories(root)): string[] {
  const walk = (dir: string): string[] =>
    readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
      if (entry.isDirectory()) return ignored.has(entry.name) ? [] : walk(join(dir, entry.name));
      return entry.isFile() ? [relative(root, join(dir, entry.name))] : [];
    });
  return walk(root).sort();
}

/** Markdown with fenced code blocks and code spans blanked out, so that examples are not taken for links. */
function withoutCode(markdown: string): string {
  return markdown.replace(/^```[\s\S]*?^```/gm, '').replace(/`[^`\n]*`/g, '');
}

/** Every link target of a Markdown text: inline links and images, reference definitions, autolinks, HTML href and src. */
export function linkTargets(markdown: string): string[] {
  const text = withoutCode(markdown);
  const patterns = [/\]\(\s*<?([^)\s>]*)>?(?:\s+"[^"]*")?\s*\)/g, /^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s|$)/gm, /<([a-z][a-z0-9+.-]*:[^>\s]*)>/gi, /\b(?:href|src)\s*=\s*"([^"]*)"/gi];
  return patterns.flatMap((pattern) => [...text.matchAll(pattern)].map((match) => match[1] ?? ''));
}

/** GitHub's anchors for the headings of a Markdown text. */
export function anchorsOf(markdown: string): Set<string> {
  const anchors = new Set<string>();
  const seen = new Map<string, number>();
  for (const match of markdown.replace(/^```[\s\S]*?^```/gm, '').matchAll(/^#{1,6} (.+)$/gm)) {
    const slug = (match[1] ?? '')
      .trim()
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\s_-]/gu, '')
      .replace(/\s/g, '-');
    const count = seen.get(slug) ?? 0;
    anchors.add(count === 0 ? slug : `${slug}-${count}`);
    seen.set(slug, count + 1);
  }
  return anchors;
}

/** One line per link of `file` (relative to `root`) that does not stay in the repository or does not resolve. */
export function badLinks(root: string, file: string, markdown: string): string[] {
  const problems: string[] = [];
  for (const target of linkTargets(markdown)) {
    const where = `${file}: link "${target}"`;
    if (target === '') problems.push(`${where} is empty`);
    else if (/^[a-z][a-z0-9+.-]*:/i.test(target)) problems.push(`${where} leaves the repository`);
    else if (target.startsWith('/')) problems.push(`${where} is an absolute path`);
    else {
      const [path = '', anchor] = target.split('#', 2);
      if (path === '') {
        if (anchor !== undefined && !anchorsOf(markdown).has(anchor)) problems.push(`${where} names a heading that does not exist`);
        continue;
      }
      const resolved = resolve(root, dirname(file), decodeURIComponent(path));
      const inside = relative(root, resolved);
      if (inside === '..' || inside.startsWith(`..${sep}`)) problems.push(`${where} leaves the repository root`);
      else if (!existsSync(resolved)) problems.push(`${where} names a file that does not exist`);
      else if (anchor !== undefined && extname(resolved) === '.md' && statSync(resolved).isFile() && !anchorsOf(readFileSync(resolved, 'utf8')).has(anchor)) {
        problems.push(`${where} names a heading that does not exist`);
      }
    }
  }
  return problems;
}

/** Words that name an interface document kept outside the repository; spelled in pieces so this file does not name it. */
const OUTSIDE = new RegExp(['\\bCONTR' + 'ACT\\b', '\\.\\./shar' + 'ed/', '/work/shar' + 'ed'].join('|'));

/** One line per text file that mentions a document outside the repository. */
export function outsideMentions(root: string, files: readonly string[]): string[] {
  const problems: string[] = [];
  for (const file of files) {
    const bytes = readFileSync(join(root, file));
    if (bytes.includes(0)) continue;
    const text = bytes.toString('utf8');
    const line = text.split('\n').findIndex((candidate) => OUTSIDE.test(candidate));
    if (line !== -1) problems.push(`${file}:${line + 1} mentions a document outside the repository`);
  }
  return problems;
}
