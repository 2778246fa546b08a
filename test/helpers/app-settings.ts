/**
 * The app settings the deployed code reads, and the settings table of docs/settings.md: what the infra tests
 * (test/unit/infra.test.ts on the Bicep text, test/unit/infra-template.test.ts on the compiled
 * template) compare the template's app settings with.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';

import { loadSettings } from '../../src/composition';
import { loadTelemetrySettings } from '../../src/telemetry/settings';

const ROOT = path.resolve(__dirname, '..', '..');

/** Every setting name the loaders look up, recorded by handing them an environment that records reads. */
export function settingsTheCodeReads(): Set<string> {
  const names = new Set<string>();
  const recorder = new Proxy<Record<string, string | undefined>>(
    {},
    {
      get: (_target, key) => {
        if (typeof key === 'string') names.add(key);
        return undefined;
      },
    },
  );
  try {
    loadSettings(recorder);
  } catch {
    // Every required setting is missing, so loadSettings reports them all: the reads are what count.
  }
  loadTelemetrySettings(recorder);
  // Direct reads anywhere in the deployed app, should any bypass the loaders.
  for (const file of sourceFiles(path.join(ROOT, 'src'))) {
    const text = fs.readFileSync(file, 'utf8');
    for (const match of text.matchAll(/process\.env(?:\.([A-Za-z_]\w*)|\[\s*'([^']+)'\s*\])/g)) {
      names.add(match[1] ?? match[2]!);
    }
  }
  return names;
}

function sourceFiles(dir: string): string[] {
  return fs.readdirSync(dir, { withFileTypes: true }).flatMap((entry) => {
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) return sourceFiles(full);
    return entry.name.endsWith('.ts') ? [full] : [];
  });
}

export interface DocumentedSetting {
  readonly name: string;
  readonly default: string;
  readonly secret: boolean;
}

/** The settings table of docs/settings.md (section "Every setting"). */
export function documentedSettings(): Map<string, DocumentedSetting> {
  const doc = fs.readFileSync(path.join(ROOT, 'docs', 'settings.md'), 'utf8');
  const start = doc.indexOf('## Every setting');
  const end = doc.indexOf('\n## ', start + 1);
  const section = doc.slice(start, end < 0 ? undefined : end);
  const rows = new Map<string, DocumentedSetting>();
  for (const match of section.matchAll(/^\|\s*`([^`]+)`\s*\|[^|]*\|([^|]*)\|([^|]*)\|\s*$/gm)) {
    rows.set(match[1]!, {
      name: match[1]!,
      default: match[2]!.trim(),
      secret: match[3]!.trim() === 'yes',
    });
  }
  return rows;
}

/**
 * The settings the code reads that `isSet` does not cover and docs/settings.md does not document as
 * optional: each would stop the app (or a feature) in Azure.
 */
export function unmetSettings(
  codeReads: ReadonlySet<string>,
  isSet: (name: string) => boolean,
  documented: ReadonlyMap<string, DocumentedSetting>,
): string[] {
  return [...codeReads].filter((name) => {
    if (isSet(name)) return false;
    // Identity-based connections: <name>__accountName instead of a connection string.
    if (isSet(`${name}__accountName`)) return false;
    const row = documented.get(name);
    if (row === undefined) return true;
    const alternative = /^required unless `([^`]+)`/.exec(row.default)?.[1];
    if (alternative !== undefined) return !isSet(alternative);
    return row.default.startsWith('required');
  });
}
