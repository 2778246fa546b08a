import { ValidationError } from '../../src/errors';
import {
  BUILT_IN_TEMPLATES,
  SMS_LOCALES,
  negotiateLocale,
  parseLocale,
  renderMessage,
  templateFor,
} from '../../src/verification/sms-templates';
import { loadSmsTemplateSettings } from '../../src/verification/settings';
import { configError } from './helpers/env';

const FALLBACK = 'Contoso: your code is {code}';
const SETTINGS = loadSmsTemplateSettings({});

describe('parseLocale', () => {
  it('accepts absent locales and canonicalises well-formed tags', () => {
    expect(parseLocale(undefined)).toBeUndefined();
    expect(parseLocale(null)).toBeUndefined();
    expect(parseLocale('ko-kr')).toBe('ko-KR');
    expect(parseLocale('ZH-hant-tw')).toBe('zh-Hant-TW');
    expect(parseLocale('pt-BR')).toBe('pt-BR');
  });

  it.each([[''], ['ko_KR'], ['not a locale'], [42], [['ko']], ['x'.repeat(40)], ['en-']])(
    'refuses %p with a 400 naming the locale field',
    (input) => {
      let error: unknown;
      try {
        parseLocale(input);
      } catch (e: unknown) {
        error = e;
      }
      expect(error).toBeInstanceOf(ValidationError);
      expect((error as ValidationError).problems[0]?.field).toBe('locale');
    },
  );
});

describe('negotiateLocale and templateFor', () => {
  it.each([
    ['ko-KR', 'ko'],
    ['ko', 'ko'],
    ['es-MX', 'es'],
    ['fr-CA', 'fr'],
    ['de-AT', 'de'],
    ['pt-BR', 'pt'],
    ['ja-JP', 'ja'],
    ['zh-CN', 'zh'],
    ['zh', 'zh'],
    ['zh-TW', 'zh-Hant'],
    ['zh-Hant', 'zh-Hant'],
    ['zh-Hans-HK', 'zh'],
    ['en-GB', 'en'],
    ['nl-NL', 'en'],
  ])('%s → %s', (tag, expected) => {
    expect(negotiateLocale(tag)).toBe(expected);
  });

  it('falls back to the configured template for English, unknown and absent locales', () => {
    for (const tag of [undefined, 'en', 'nl', 'sw-KE']) {
      expect(templateFor(tag, SETTINGS, FALLBACK)).toEqual({
        locale: 'en',
        template: FALLBACK,
      });
    }
  });

  it('has a template with {code} for every locale, rendering the code', () => {
    for (const locale of SMS_LOCALES) {
      const { template } = templateFor(locale, SETTINGS, FALLBACK);
      expect(renderMessage(template, '482913')).toContain('482913');
      expect(renderMessage(template, '482913')).not.toContain('{code}');
    }
    expect(templateFor('ko-KR', SETTINGS, FALLBACK).template).toBe(BUILT_IN_TEMPLATES.ko);
  });
});

describe('loadSmsTemplateSettings', () => {
  it('replaces a built-in template with its setting', () => {
    const settings = loadSmsTemplateSettings({
      VERIFICATION_MESSAGE_TEMPLATE_KO: 'Contoso 인증 코드: {code}',
    });
    expect(templateFor('ko', settings, FALLBACK).template).toBe('Contoso 인증 코드: {code}');
    expect(templateFor('ja', settings, FALLBACK).template).toBe(BUILT_IN_TEMPLATES.ja);
  });

  it('reports every bad template at once', () => {
    expect(
      configError(() =>
        loadSmsTemplateSettings({
          VERIFICATION_MESSAGE_TEMPLATE_FR: 'Votre code',
          VERIFICATION_MESSAGE_TEMPLATE_ZH_HANT: `{code}${'x'.repeat(1500)}`,
        }),
      ).problems.map((p) => p.field),
    ).toEqual(['VERIFICATION_MESSAGE_TEMPLATE_FR', 'VERIFICATION_MESSAGE_TEMPLATE_ZH_HANT']);
  });
});
