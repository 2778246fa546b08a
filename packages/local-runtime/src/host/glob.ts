/**
 * The small glob subset the worker accepts in `package.json` `main` (`{a,b}`, `*`, `?`, `**`), resolved
 * relative to the app directory. Node 20 has no `fs.glob`, and a dependency for this is not worth it.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

/** Expands the first (outermost) brace group, recursively: `a/{b,c}/*.js` → `a/b/*.js`, `a/c/*.js`. */
export function expandBraces(pattern: string): string[] {
  const open = pattern.indexOf('{');
  if (open < 0) {
    return [pattern];
  }
  let depth = 0;
  const commas: number[] = [];
  for (let i = open; i < pattern.length; i++) {
    const ch = pattern[i];
    if (ch === '{') {
      depth++;
    } else if (ch === '}') {
      depth--;
      if (depth === 0) {
        const before = pattern.slice(0, open);
        const after = pattern.slice(i + 1);
        const bounds = [open, ...commas, i];
        const result: string[] = [];
        for (let k = 0; k + 1 < bounds.length; k++) {
          const alternative = pattern.slice(bounds[k]! + 1, bounds[k + 1]);
          result.push(...expandBraces(before + alternative + after));
        }
        return result;
      }
    } else if (ch === ',' && depth === 1) {
      commas.push(i);
    }
  }
  return [pattern];
}

function segmentToRegExp(segment: string): RegExp {
  let source = '';
  for (const ch of segment) {
    if (ch === '*') {
      source += '[^/]*';
    } else if (ch === '?') {
      source += '[^/]';
    } else {
      source += ch.replace(/[.+^${}()|[\]\\]/g, '\\$&');
    }
  }
  return new RegExp(`^${source}$`);
}

function hasMagic(segment: string): boolean {
  return /[*?]/.test(segment);
}

function walk(dir: string, segments: readonly string[], out: Set<string>): void {
  if (segments.length === 0) {
    return;
  }
  const [head, ...rest] = segments as [string, ...string[]];
  if (head === '**') {
    walk(dir, rest, out);
    for (const entry of safeReadDir(dir)) {
      if (entry.isDirectory() && entry.name !== 'node_modules' && !entry.name.startsWith('.')) {
        walk(path.join(dir, entry.name), segments, out);
      }
    }
    return;
  }
  if (!hasMagic(head)) {
    const next = path.join(dir, head);
    if (rest.length === 0) {
      if (isFile(next)) {
        out.add(next);
      }
    } else {
      walk(next, rest, out);
    }
    return;
  }
  const matcher = segmentToRegExp(head);
  for (const entry of safeReadDir(dir)) {
    if (!matcher.test(entry.name)) {
      continue;
    }
    const next = path.join(dir, entry.name);
    if (rest.length === 0) {
      if (entry.isFile()) {
        out.add(next);
      }
    } else if (entry.isDirectory()) {
      walk(next, rest, out);
    }
  }
}

function safeReadDir(dir: string): fs.Dirent[] {
  try {
    return fs
      .readdirSync(dir, { withFileTypes: true })
      .sort((a, b) => a.name.localeCompare(b.name));
  } catch {
    return [];
  }
}

function isFile(file: string): boolean {
  try {
    return fs.statSync(file).isFile();
  } catch {
    return false;
  }
}

/** Absolute paths of the files matching `pattern` under `baseDir`, in a stable order, without duplicates. */
export function globFiles(baseDir: string, pattern: string): string[] {
  const out = new Set<string>();
  for (const expanded of expandBraces(pattern)) {
    const normalised = expanded.replace(/\\/g, '/').replace(/^\.\//, '');
    const segments = normalised.split('/').filter((s) => s.length > 0 && s !== '.');
    walk(path.resolve(baseDir), segments, out);
  }
  return [...out];
}
