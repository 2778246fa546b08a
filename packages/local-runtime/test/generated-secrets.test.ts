/** App-declared generated secrets: drawn once per data folder, reused, and never over a set value. */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { generatedSecretsFor, readDeclaredSecrets } from '../src/generated-secrets';
import { loadLocalServices } from '../src/host/local-services';

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'generated-secrets-'));
});
afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

const SPECS = {
  APP_SID: { prefix: 'AC', hexDigits: 32 },
  APP_TOKEN: { prefix: '', hexDigits: 32 },
};

describe('generated secrets', () => {
  it("reads well-formed declarations from the app's local.services.cjs and ignores the rest", () => {
    fs.writeFileSync(
      path.join(dir, 'local.services.cjs'),
      `module.exports = ${JSON.stringify({
        generatedSecrets: {
          APP_SID: { prefix: 'AC', hexDigits: 32 },
          TOO_SHORT: { hexDigits: 4 },
          'bad name': { hexDigits: 32 },
        },
      })};`,
    );
    expect(readDeclaredSecrets(loadLocalServices(dir))).toEqual({
      APP_SID: { prefix: 'AC', hexDigits: 32 },
    });
    expect(readDeclaredSecrets(loadLocalServices(path.join(dir, 'missing')))).toEqual({});
  });

  it('draws blank ones once (file mode 0600), reuses them, and leaves set values alone', () => {
    const first = generatedSecretsFor(dir, SPECS, { APP_TOKEN: '  ' });
    expect(first.values.APP_SID).toMatch(/^AC[0-9a-f]{32}$/);
    expect(first.values.APP_TOKEN).toMatch(/^[0-9a-f]{32}$/);
    expect(fs.statSync(first.file).mode & 0o777).toBe(0o600);
    const again = generatedSecretsFor(dir, SPECS, {});
    expect(again.values).toEqual(first.values);
    const set = generatedSecretsFor(dir, SPECS, { APP_SID: 'ACmine', APP_TOKEN: 'mine' });
    expect(set.values).toEqual({});
  });

  it('replaces a damaged file', () => {
    fs.writeFileSync(path.join(dir, 'generated-secrets.json'), '{not json');
    const values = generatedSecretsFor(dir, SPECS, {}).values;
    expect(values.APP_SID).toMatch(/^AC[0-9a-f]{32}$/);
  });
});
