/**
 * Preloaded into the soak's host process (`node --expose-gc --require soak-probe.js`): a loopback-only endpoint
 * that reports memory after a full GC, per V8 heap space, and writes a heap snapshot on request. It lives in
 * the bench, so the runtime carries no measuring code. Its port goes to the file `BENCH_SOAK_PROBE_FILE` names.
 */
import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import * as v8 from 'node:v8';

const portFile = process.env.BENCH_SOAK_PROBE_FILE;

if (portFile) {
  const server = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    if (url.pathname === '/memory') {
      (globalThis as { gc?: () => void }).gc?.();
      const spaces = Object.fromEntries(
        v8.getHeapSpaceStatistics().map((s) => [s.space_name, s.space_used_size]),
      );
      res.end(JSON.stringify({ ...process.memoryUsage(), spaces }));
      return;
    }
    const file = url.searchParams.get('file');
    if (url.pathname === '/snapshot' && file) {
      res.end(v8.writeHeapSnapshot(file));
      return;
    }
    res.statusCode = 404;
    res.end();
  });
  server.listen(0, '127.0.0.1', () => {
    fs.writeFileSync(portFile, String((server.address() as AddressInfo).port));
  });
  server.unref();
}
