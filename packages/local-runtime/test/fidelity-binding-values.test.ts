/** How binding options and values are resolved before an output binding runs (`%Setting%`, `{name}`). */
import {
  BindingError,
  bindingDataFromJson,
  expandPath,
  resolveSettingReferences,
  typedDataToBytes,
  typedDataToJson,
} from '../src/bindings/binding-values';

const NOW = new Date('2026-01-02T03:04:05.000Z');

describe('resolveSettingReferences', () => {
  it('replaces %Name% with the app setting and fails clearly for a missing one', () => {
    expect(
      resolveSettingReferences('%TwilioPhoneNumber%', { TwilioPhoneNumber: '+15005550006' }),
    ).toBe('+15005550006');
    expect(() => resolveSettingReferences('%Missing%', {})).toThrow(BindingError);
    expect(() => resolveSettingReferences('%Missing%', {})).toThrow("'Missing'");
  });
});

describe('expandPath', () => {
  it('reads binding data case-insensitively and knows rand-guid and DateTime', () => {
    expect(expandPath('backups/{BackupPath}', { backupPath: 'css/site.css' }, NOW)).toBe(
      'backups/css/site.css',
    );
    expect(expandPath('logs/{DateTime}.txt', {}, NOW)).toBe('logs/2026-01-02T03:04:05.000Z.txt');
    expect(expandPath('x/{rand-guid}', {}, NOW)).toMatch(/^x\/[0-9a-f-]{36}$/);
  });

  it('fails as the host does when a named parameter has no value (or is not a scalar)', () => {
    expect(() => expandPath('backups/{backupPath}', {}, NOW)).toThrow(
      "No value for named parameter 'backupPath'.",
    );
    expect(() => expandPath('backups/{o}', { o: { nested: 1 } }, NOW)).toThrow(BindingError);
  });
});

describe('values', () => {
  it('takes binding data from a JSON object input only', () => {
    expect(bindingDataFromJson('{"backupPath":"a.txt"}')).toEqual({ backupPath: 'a.txt' });
    expect(bindingDataFromJson('"just a string"')).toEqual({});
    expect(bindingDataFromJson('[1]')).toEqual({});
    expect(bindingDataFromJson('not json')).toEqual({});
  });

  it('writes strings as UTF-8, objects as JSON text and bytes unchanged', () => {
    expect(typedDataToBytes({ string: 'é' })).toEqual(Buffer.from('é', 'utf8'));
    expect(typedDataToBytes({ json: '{"a":1}' })?.toString()).toBe('{"a":1}');
    expect(typedDataToBytes({ bytes: new Uint8Array([0, 255]) })).toEqual(Buffer.from([0, 255]));
    expect(typedDataToBytes({})).toBeUndefined();
  });

  it('reads a message object from json or string typed data', () => {
    expect(typedDataToJson({ json: '{"to":"+1"}' })).toEqual({ to: '+1' });
    expect(typedDataToJson({ string: '{"to":"+1"}' })).toEqual({ to: '+1' });
    expect(typedDataToJson({ string: 'hello' })).toBeUndefined();
  });
});
