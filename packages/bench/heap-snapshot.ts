/**
 * A heap snapshot (`v8.writeHeapSnapshot`) summarised by what holds the bytes: self sizes added up per node type
 * and name (constructor for objects), largest first. Enough to tell caches, strings and code apart.
 */
import * as fs from 'node:fs';

interface Snapshot {
  snapshot: { meta: { node_fields: string[]; node_types: [string[], ...unknown[]] } };
  nodes: number[];
  strings: string[];
}

export interface HeapGroup {
  readonly type: string;
  readonly name: string;
  readonly count: number;
  readonly selfMiB: number;
}

export function summariseHeapSnapshot(file: string, top: number): HeapGroup[] {
  const snapshot = JSON.parse(fs.readFileSync(file, 'utf8')) as Snapshot;
  const fields = snapshot.snapshot.meta.node_fields;
  const types = snapshot.snapshot.meta.node_types[0];
  const width = fields.length;
  const typeAt = fields.indexOf('type');
  const nameAt = fields.indexOf('name');
  const sizeAt = fields.indexOf('self_size');
  const groups = new Map<string, { type: string; name: string; count: number; bytes: number }>();
  for (let i = 0; i < snapshot.nodes.length; i += width) {
    const type = types[snapshot.nodes[i + typeAt]!] ?? 'unknown';
    // Strings and code are grouped by type only: their names are their contents.
    const name =
      type === 'object' || type === 'closure' || type === 'native'
        ? (snapshot.strings[snapshot.nodes[i + nameAt]!] ?? '')
        : '';
    const key = `${type}\n${name}`;
    const group = groups.get(key) ?? { type, name, count: 0, bytes: 0 };
    group.count++;
    group.bytes += snapshot.nodes[i + sizeAt]!;
    groups.set(key, group);
  }
  return [...groups.values()]
    .sort((a, b) => b.bytes - a.bytes)
    .slice(0, top)
    .map((g) => ({
      type: g.type,
      name: g.name,
      count: g.count,
      selfMiB: Number((g.bytes / 2 ** 20).toFixed(2)),
    }));
}
