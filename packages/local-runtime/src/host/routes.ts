/**
 * ASP.NET-style route templates as the Functions host accepts them for HTTP triggers: literal segments
 * (case-insensitive), `{param}`, `{param?}`, `{param:constraint[:constraint...]}`, `{param=default}` and the
 * catch-alls `{*rest}` / `{**rest}` in the last segment.
 */

export type RouteConstraint = (value: string) => boolean;

interface ParamSpec {
  readonly name: string;
  readonly optional: boolean;
  readonly catchAll: boolean;
  readonly defaultValue: string | undefined;
  readonly constraints: readonly RouteConstraint[];
}

export interface CompiledRoute {
  readonly template: string;
  readonly regexp: RegExp;
  readonly params: readonly ParamSpec[];
  /** Lower sorts first: literal segments beat parameters, which beat optional ones and catch-alls. */
  readonly precedence: readonly number[];
}

export class RouteTemplateError extends Error {}

const numberPattern = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

function splitArgs(args: string): string[] {
  return args.split(',').map((a) => a.trim());
}

function constraintFor(spec: string): RouteConstraint {
  const match = /^([a-zA-Z]+)(?:\((.*)\))?$/.exec(spec);
  if (!match) {
    throw new RouteTemplateError(`Invalid route constraint "${spec}".`);
  }
  const name = match[1]!.toLowerCase();
  const arg = match[2];
  const num = (i: number): number => {
    const values = splitArgs(arg ?? '');
    const v = Number(values[i]);
    if (!Number.isFinite(v)) {
      throw new RouteTemplateError(`Route constraint "${spec}" needs numeric arguments.`);
    }
    return v;
  };
  switch (name) {
    case 'int':
      return (v) =>
        /^[+-]?\d+$/.test(v) && Math.abs(Number(v)) <= 2147483648 && Number(v) <= 2147483647;
    case 'long':
      return (v) =>
        /^[+-]?\d+$/.test(v) &&
        BigInt(v) <= 9223372036854775807n &&
        BigInt(v) >= -9223372036854775808n;
    case 'bool':
      return (v) => /^(true|false)$/i.test(v);
    case 'guid':
      return (v) =>
        /^(\{)?[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}(\})?$/i.test(v);
    case 'alpha':
      return (v) => /^[a-z]+$/i.test(v);
    case 'double':
    case 'float':
    case 'decimal':
      return (v) => numberPattern.test(v);
    case 'datetime':
      return (v) => !Number.isNaN(Date.parse(v));
    case 'minlength': {
      const min = num(0);
      return (v) => v.length >= min;
    }
    case 'maxlength': {
      const max = num(0);
      return (v) => v.length <= max;
    }
    case 'length': {
      const args = splitArgs(arg ?? '');
      if (args.length === 1) {
        const exact = num(0);
        return (v) => v.length === exact;
      }
      const min = num(0);
      const max = num(1);
      return (v) => v.length >= min && v.length <= max;
    }
    case 'min': {
      const min = num(0);
      return (v) => /^[+-]?\d+$/.test(v) && Number(v) >= min;
    }
    case 'max': {
      const max = num(0);
      return (v) => /^[+-]?\d+$/.test(v) && Number(v) <= max;
    }
    case 'range': {
      const min = num(0);
      const max = num(1);
      return (v) => /^[+-]?\d+$/.test(v) && Number(v) >= min && Number(v) <= max;
    }
    case 'regex': {
      const pattern = new RegExp(arg ?? '', 'i');
      return (v) => pattern.test(v);
    }
    case 'required':
      return (v) => v.length > 0;
    default:
      throw new RouteTemplateError(`Unknown route constraint "${name}".`);
  }
}

function parseParam(body: string, isLastSegment: boolean): ParamSpec {
  let text = body;
  let catchAll = false;
  if (text.startsWith('**')) {
    catchAll = true;
    text = text.slice(2);
  } else if (text.startsWith('*')) {
    catchAll = true;
    text = text.slice(1);
  }
  if (catchAll && !isLastSegment) {
    throw new RouteTemplateError(
      'A catch-all parameter can only appear in the last segment of a route.',
    );
  }
  let optional = false;
  let defaultValue: string | undefined;
  const eq = text.indexOf('=');
  if (eq >= 0) {
    defaultValue = text.slice(eq + 1);
    text = text.slice(0, eq);
  }
  if (text.endsWith('?')) {
    optional = true;
    text = text.slice(0, -1);
  }
  // Constraint arguments may contain ':' (regex), so split only on ':' outside parentheses.
  const parts: string[] = [];
  let depth = 0;
  let current = '';
  for (const ch of text) {
    if (ch === '(') depth++;
    if (ch === ')') depth--;
    if (ch === ':' && depth === 0) {
      parts.push(current);
      current = '';
    } else {
      current += ch;
    }
  }
  parts.push(current);
  const name = parts[0] ?? '';
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) {
    throw new RouteTemplateError(`Invalid route parameter name "${name}".`);
  }
  return {
    name,
    optional: optional || catchAll || defaultValue !== undefined,
    catchAll,
    defaultValue,
    constraints: parts.slice(1).map(constraintFor),
  };
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

type SegmentPart = { readonly kind: 'literal' | 'param'; readonly text: string };

/** Splits a segment into literals and `{...}` parameters; `{{` and `}}` are escaped braces (as in ASP.NET). */
function tokenizeSegment(segment: string, template: string): SegmentPart[] {
  const parts: SegmentPart[] = [];
  let literal = '';
  let i = 0;
  while (i < segment.length) {
    const ch = segment[i]!;
    if ((ch === '{' || ch === '}') && segment[i + 1] === ch) {
      literal += ch;
      i += 2;
      continue;
    }
    if (ch === '}') {
      throw new RouteTemplateError(`Unbalanced "}" in route "${template}".`);
    }
    if (ch !== '{') {
      literal += ch;
      i++;
      continue;
    }
    if (literal) parts.push({ kind: 'literal', text: literal });
    literal = '';
    let body = '';
    i++;
    for (;;) {
      if (i >= segment.length) {
        throw new RouteTemplateError(`Unbalanced "{" in route "${template}".`);
      }
      const c = segment[i]!;
      if ((c === '{' || c === '}') && segment[i + 1] === c) {
        body += c;
        i += 2;
      } else if (c === '}') {
        i++;
        break;
      } else {
        body += c;
        i++;
      }
    }
    parts.push({ kind: 'param', text: body });
  }
  if (literal) parts.push({ kind: 'literal', text: literal });
  return parts;
}

export function compileRoute(template: string): CompiledRoute {
  const trimmed = template.replace(/^\/+|\/+$/g, '');
  const segments = trimmed.length > 0 ? trimmed.split('/') : [];
  const params: ParamSpec[] = [];
  const precedence: number[] = [];
  let source = '^';
  segments.forEach((segment, index) => {
    const isLast = index === segments.length - 1;
    const parts = tokenizeSegment(segment, template);
    const only = parts.length === 1 ? parts[0] : undefined;
    if (only?.kind === 'param') {
      const param = parseParam(only.text, isLast);
      params.push(param);
      const group = param.catchAll ? `(?<${param.name}>.*)` : `(?<${param.name}>[^/]+)`;
      source += param.optional ? `(?:/${group})?` : `/${group}`;
      precedence.push(
        param.catchAll ? 5 : param.optional ? 4 : param.constraints.length > 0 ? 2 : 3,
      );
      return;
    }
    // A segment mixing literals and parameters, e.g. `{name}.{ext}`.
    let segmentSource = '';
    let hasParam = false;
    for (const part of parts) {
      if (part.kind === 'literal') {
        segmentSource += escapeRegExp(part.text);
      } else {
        const param = parseParam(part.text, false);
        params.push(param);
        hasParam = true;
        segmentSource += `(?<${param.name}>[^/]+?)`;
      }
    }
    source += `/${segmentSource}`;
    precedence.push(hasParam ? 2 : 1);
  });
  source += '/?$';
  const names = new Set<string>();
  for (const p of params) {
    if (names.has(p.name.toLowerCase())) {
      throw new RouteTemplateError(
        `Route parameter "${p.name}" appears more than once in "${template}".`,
      );
    }
    names.add(p.name.toLowerCase());
  }
  return { template: trimmed, regexp: new RegExp(source, 'i'), params, precedence };
}

/** Matches `path` (starting with `/`, relative to the route prefix) and returns decoded params, or undefined. */
export function matchRoute(route: CompiledRoute, path: string): Record<string, string> | undefined {
  const normalised = path === '' ? '' : path.startsWith('/') ? path : `/${path}`;
  const match = route.regexp.exec(normalised === '/' ? '' : normalised);
  if (!match) {
    return undefined;
  }
  const result: Record<string, string> = {};
  for (const param of route.params) {
    const raw = match.groups?.[param.name];
    if (raw === undefined || raw === '') {
      if (!param.optional) {
        return undefined;
      }
      if (param.defaultValue !== undefined) {
        result[param.name] = param.defaultValue;
      }
      continue;
    }
    let value: string;
    try {
      value = param.catchAll
        ? raw.split('/').map(decodeURIComponent).join('/')
        : decodeURIComponent(raw);
    } catch {
      return undefined;
    }
    if (!param.constraints.every((c) => c(value))) {
      return undefined;
    }
    result[param.name] = value;
  }
  return result;
}

export function comparePrecedence(a: CompiledRoute, b: CompiledRoute): number {
  const length = Math.max(a.precedence.length, b.precedence.length);
  for (let i = 0; i < length; i++) {
    const x = a.precedence[i] ?? 0;
    const y = b.precedence[i] ?? 0;
    if (x !== y) {
      return x - y;
    }
  }
  return 0;
}
