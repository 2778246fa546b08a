import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { activityInputToTypedData, typedDataToValue } from '../src/host/function-host';
import { expandBraces, globFiles } from '../src/host/glob';
import { readHostJson } from '../src/host/host-json';
import { nextOccurrence, parseSchedule, ScheduleError } from '../src/host/timer-triggers';
import {
  compileRoute,
  comparePrecedence,
  matchRoute,
  RouteTemplateError,
} from '../src/host/routes';
import { keyEquals, loadOrCreateKeys } from '../src/keys';
import { applyToProcessEnv, resolveSettings } from '../src/settings';

let tmp: string;
beforeEach(() => {
  tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'host-units-'));
});
afterEach(() => {
  fs.rmSync(tmp, { recursive: true, force: true });
});

describe('route templates', () => {
  it('matches literals case-insensitively and extracts params', () => {
    const route = compileRoute('verifications/{id}/code');
    expect(matchRoute(route, '/Verifications/abc/CODE')).toEqual({ id: 'abc' });
    expect(matchRoute(route, '/verifications/abc')).toBeUndefined();
    expect(matchRoute(route, '/verifications/abc/code/extra')).toBeUndefined();
  });

  it('supports optional params, defaults and trailing slashes', () => {
    expect(matchRoute(compileRoute('hello/{name?}'), '/hello')).toEqual({});
    expect(matchRoute(compileRoute('hello/{name?}'), '/hello/')).toEqual({});
    expect(matchRoute(compileRoute('hello/{name=world}'), '/hello')).toEqual({ name: 'world' });
    expect(matchRoute(compileRoute('hello/{name=world}'), '/hello/bob')).toEqual({ name: 'bob' });
  });

  it('enforces constraints', () => {
    const int = compileRoute('items/{id:int}');
    expect(matchRoute(int, '/items/-12')).toEqual({ id: '-12' });
    expect(matchRoute(int, '/items/1.5')).toBeUndefined();
    expect(matchRoute(int, '/items/99999999999')).toBeUndefined();
    const guid = compileRoute('x/{id:guid}');
    expect(matchRoute(guid, '/x/1b4e28ba-2fa1-11d2-883f-0016d3cca427')).toBeDefined();
    expect(matchRoute(guid, '/x/nope')).toBeUndefined();
    const ranged = compileRoute('x/{n:range(1,5)}');
    expect(matchRoute(ranged, '/x/5')).toEqual({ n: '5' });
    expect(matchRoute(ranged, '/x/6')).toBeUndefined();
    const len = compileRoute('x/{s:minlength(2):maxlength(3)}');
    expect(matchRoute(len, '/x/a')).toBeUndefined();
    expect(matchRoute(len, '/x/abc')).toEqual({ s: 'abc' });
    expect(matchRoute(len, '/x/abcd')).toBeUndefined();
    // Braces inside a constraint are escaped by doubling, as in ASP.NET route templates.
    const re = compileRoute('x/{code:regex(^\\d{{3}}$)}');
    expect(matchRoute(re, '/x/123')).toEqual({ code: '123' });
    expect(matchRoute(re, '/x/1234')).toBeUndefined();
  });

  it('captures catch-alls and decodes each segment', () => {
    const route = compileRoute('files/{*path}');
    expect(matchRoute(route, '/files/a%20b/c')).toEqual({ path: 'a b/c' });
    expect(matchRoute(route, '/files')).toEqual({});
    expect(() => compileRoute('files/{*path}/more')).toThrow(RouteTemplateError);
  });

  it('matches segments mixing literals and params', () => {
    expect(matchRoute(compileRoute('img/{name}.{ext}'), '/img/logo.png')).toEqual({
      name: 'logo',
      ext: 'png',
    });
  });

  it('rejects unknown constraints and duplicate names', () => {
    expect(() => compileRoute('x/{a:bogus}')).toThrow(RouteTemplateError);
    expect(() => compileRoute('{a}/{A}')).toThrow(RouteTemplateError);
  });

  it('orders literal segments before params before catch-alls', () => {
    const routes = ['items/{*rest}', 'items/{id}', 'items/special', 'items/{id:int}'].map(
      compileRoute,
    );
    expect(routes.sort(comparePrecedence).map((r) => r.template)).toEqual([
      'items/special',
      'items/{id:int}',
      'items/{id}',
      'items/{*rest}',
    ]);
  });
});

describe('main glob', () => {
  it('expands braces, including nested ones', () => {
    expect(expandBraces('dist/{index.js,functions/*.js}')).toEqual([
      'dist/index.js',
      'dist/functions/*.js',
    ]);
    expect(expandBraces('{a,b{1,2}}')).toEqual(['a', 'b1', 'b2']);
  });

  it('finds files for *, ? and ** relative to the app dir, without duplicates', () => {
    for (const f of [
      'dist/index.js',
      'dist/functions/a.js',
      'dist/functions/b.js',
      'dist/functions/b.js.map',
      'dist/deep/x/y.js',
    ]) {
      fs.mkdirSync(path.dirname(path.join(tmp, f)), { recursive: true });
      fs.writeFileSync(path.join(tmp, f), '');
    }
    const rel = (pattern: string): string[] =>
      globFiles(tmp, pattern).map((f) => path.relative(tmp, f).split(path.sep).join('/'));
    expect(rel('dist/{index.js,functions/*.js}')).toEqual([
      'dist/index.js',
      'dist/functions/a.js',
      'dist/functions/b.js',
    ]);
    expect(rel('./dist/functions/?.js')).toEqual(['dist/functions/a.js', 'dist/functions/b.js']);
    expect(rel('dist/**/*.js').sort()).toEqual([
      'dist/deep/x/y.js',
      'dist/functions/a.js',
      'dist/functions/b.js',
      'dist/index.js',
    ]);
    expect(rel('dist/{index.js,index.js}')).toEqual(['dist/index.js']);
    expect(rel('nothing/*.js')).toEqual([]);
  });
});

describe('settings', () => {
  it('creates local.settings.json from the sample, applies env overrides for known names, then explicit ones', () => {
    fs.writeFileSync(
      path.join(tmp, 'local.settings.sample.json'),
      JSON.stringify({
        Values: { A: 'file', B: 'file', C: 'file', N: 5 },
        Host: { CORS: '*', LocalHttpPort: 7072 },
      }),
    );
    const first = resolveSettings({
      appDir: tmp,
      env: { B: 'env', UNRELATED: 'x' },
      overrides: { C: 'explicit' },
    });
    expect(first.createdFromSample).toBe(true);
    expect(fs.existsSync(path.join(tmp, 'local.settings.json'))).toBe(true);
    expect(first.values).toEqual({ A: 'file', B: 'env', C: 'explicit', N: '5' });
    expect(first.host).toEqual({ localHttpPort: 7072, cors: ['*'], corsCredentials: false });
    const second = resolveSettings({ appDir: tmp, env: {} });
    expect(second.createdFromSample).toBe(false);
  });

  it('reads no file when told so and reports invalid JSON', () => {
    expect(resolveSettings({ appDir: tmp, file: false, overrides: { X: '1' } }).values).toEqual({
      X: '1',
    });
    fs.writeFileSync(path.join(tmp, 'local.settings.json'), '{ nope');
    expect(() => resolveSettings({ appDir: tmp, env: {} })).toThrow(/not valid JSON/);
  });

  it('applies settings to process.env and restores the previous values', () => {
    process.env.HOST_UNITS_EXISTING = 'before';
    const restore = applyToProcessEnv({ HOST_UNITS_EXISTING: 'during', HOST_UNITS_NEW: 'new' });
    expect(process.env.HOST_UNITS_EXISTING).toBe('during');
    expect(process.env.HOST_UNITS_NEW).toBe('new');
    restore();
    expect(process.env.HOST_UNITS_EXISTING).toBe('before');
    expect(process.env.HOST_UNITS_NEW).toBeUndefined();
    delete process.env.HOST_UNITS_EXISTING;
  });
});

describe('keys', () => {
  it('creates keys once and reuses them', () => {
    const first = loadOrCreateKeys(path.join(tmp, 'data'));
    expect(first.created).toBe(true);
    const second = loadOrCreateKeys(path.join(tmp, 'data'));
    expect(second.created).toBe(false);
    expect(second.keys).toEqual(first.keys);
    if (process.platform !== 'win32') {
      expect(fs.statSync(first.file).mode & 0o077).toBe(0);
    }
  });

  it('compares keys exactly', () => {
    expect(keyEquals('abc', 'abc')).toBe(true);
    expect(keyEquals('abd', 'abc')).toBe(false);
    expect(keyEquals('ab', 'abc')).toBe(false);
    expect(keyEquals(undefined, 'abc')).toBe(false);
  });
});

describe('host.json', () => {
  it('reads route prefix, hub and concurrency, with defaults', () => {
    fs.writeFileSync(
      path.join(tmp, 'host.json'),
      JSON.stringify({
        extensions: {
          http: { routePrefix: '/v1/' },
          durableTask: {
            hubName: 'Hub',
            maxConcurrentActivityFunctions: 3,
            maxEntityOperationBatchSize: 7,
          },
        },
      }),
    );
    expect(readHostJson(tmp)).toEqual({
      routePrefix: 'v1',
      hubName: 'Hub',
      maxConcurrentActivityFunctions: 3,
      maxConcurrentOrchestratorFunctions: 10,
      maxConcurrentEntityFunctions: 10,
      maxEntityOperationBatchSize: 7,
      maxConcurrentRequests: undefined,
      maxOutstandingRequests: undefined,
    });
    fs.writeFileSync(
      path.join(tmp, 'host.json'),
      JSON.stringify({ extensions: { http: { routePrefix: '' } } }),
    );
    expect(readHostJson(tmp).routePrefix).toBe('');
  });
});

describe('typed data as the extension sends and reads it', () => {
  it('sends activity inputs as .NET strings', () => {
    expect(activityInputToTypedData('"Tokyo"')).toEqual({ string: '"Tokyo"' });
    expect(activityInputToTypedData(5)).toEqual({ string: '5' });
    expect(activityInputToTypedData({ x: 1 })).toEqual({ string: '{"x":1}' });
    expect(activityInputToTypedData(true)).toEqual({ string: 'True' });
    expect(activityInputToTypedData(undefined)).toEqual({});
  });

  it('reads return values like the extension', () => {
    expect(typedDataToValue({ string: 'Hello' })).toBe('Hello');
    expect(typedDataToValue({ json: '{"a":1}' })).toEqual({ a: 1 });
    expect(typedDataToValue({ int: 3 })).toBe(3);
    expect(typedDataToValue({ double: 1.5 })).toBe(1.5);
    expect(typedDataToValue({ bytes: new Uint8Array([104, 105]) })).toBe('aGk=');
    expect(typedDataToValue(undefined)).toBeUndefined();
    expect(typedDataToValue({})).toBeUndefined();
  });
});

describe('timer schedules', () => {
  const next = (schedule: string, after: string): string =>
    nextOccurrence(parseSchedule(schedule), new Date(after)).toISOString();

  it('computes NCRONTAB occurrences in UTC', () => {
    expect(next('0 */5 * * * *', '2030-01-01T00:03:10Z')).toBe('2030-01-01T00:05:00.000Z');
    expect(next('0 0 9 * * MON-FRI', '2030-01-04T10:00:00Z')).toBe('2030-01-07T09:00:00.000Z'); // Fri → Mon
    expect(next('30 15 2 1 JAN *', '2030-06-01T00:00:00Z')).toBe('2031-01-01T02:15:30.000Z');
    expect(next('0 0 0 29 2 *', '2030-03-01T00:00:00Z')).toBe('2032-02-29T00:00:00.000Z');
    expect(next('5,10 * * * * *', '2030-01-01T00:00:05Z')).toBe('2030-01-01T00:00:10.000Z');
  });

  it('supports TimeSpan intervals', () => {
    expect(next('00:00:30', '2030-01-01T00:00:05Z')).toBe('2030-01-01T00:00:35.000Z');
    expect(next('1.00:00:00', '2030-01-01T00:00:00Z')).toBe('2030-01-02T00:00:00.000Z');
  });

  it('rejects malformed schedules', () => {
    expect(() => parseSchedule('* * * * *')).toThrow(ScheduleError);
    expect(() => parseSchedule('61 * * * * *')).toThrow(ScheduleError);
    expect(() => parseSchedule('*/0 * * * * *')).toThrow(ScheduleError);
    expect(() => parseSchedule('00:00:00')).toThrow(ScheduleError);
  });
});
