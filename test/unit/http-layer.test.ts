import { HttpRequest } from '@azure/functions';
import {
  GoneError,
  PayloadTooLargeError,
  RateLimitedError,
  ValidationError,
} from '../../src/errors';
import { appErrorResponse } from '../../src/http/problem';
import { z } from 'zod';
import { MAX_BODY_BYTES, readJson, routeParam } from '../../src/http/parse';
import { integerIn, parseWith, text } from '../../src/http/schema';
import { redact, withErrors } from '../../src/http/respond';
import { invocation, request } from './helpers/fakes';

describe('problem+json mapping', () => {
  it('renders an AppError as RFC 9457 with its extensions and headers', () => {
    const response = appErrorResponse(new RateLimitedError('Slow down.', 30));
    expect(response.status).toBe(429);
    expect(response.headers).toMatchObject({
      'Content-Type': 'application/problem+json',
      'Retry-After': '30',
    });
    expect(response.jsonBody).toEqual({
      type: 'urn:sms-verification:problem:rate-limited',
      title: 'Too many requests',
      status: 429,
      detail: 'Slow down.',
      code: 'rate_limited',
    });
  });

  it('puts field problems into an errors array', () => {
    const response = appErrorResponse(new ValidationError({ field: 'code', message: 'required' }));
    expect(response.jsonBody).toMatchObject({
      status: 400,
      errors: [{ field: 'code', message: 'required' }],
    });
  });
});

describe('withErrors', () => {
  it('passes results through and maps AppErrors', async () => {
    const ok = withErrors(() => Promise.resolve({ status: 201 }));
    expect((await ok(request({}), invocation())).status).toBe(201);
    const gone = withErrors(() => Promise.reject(new GoneError('Finished.')));
    expect((await gone(request({}), invocation())).status).toBe(410);
  });

  it('answers a generic 500 for anything else and logs a redacted description', async () => {
    const logs: string[] = [];
    const failing = withErrors(() => {
      throw new Error(
        'request to https://user:pw@acs.example/?sig=abc failed, Authorization: Bearer eyJa.eyJb.c',
      );
    });
    const response = await failing(request({}), invocation(logs));
    expect(response.status).toBe(500);
    expect(response).toMatchObject({
      jsonBody: { type: 'about:blank', status: 500, detail: 'An unexpected error occurred.' },
    });
    const logged = logs.join('\n');
    expect(logged).toContain('error:');
    for (const secret of ['pw@', 'sig=abc', 'eyJa.eyJb.c']) expect(logged).not.toContain(secret);
  });

  it('handles thrown non-Error values', async () => {
    // Third-party code can reject with anything; this is the case under test.
    // eslint-disable-next-line @typescript-eslint/prefer-promise-reject-errors
    const failing = withErrors(() => Promise.reject('plain string'));
    expect((await failing(request({}), invocation())).status).toBe(500);
  });
});

describe('redact', () => {
  it('scrubs JWTs, auth headers, keyed query values and URL credentials', () => {
    expect(redact('token eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.abc end')).toBe('token [jwt] end');
    expect(redact('Authorization: Basic QUM6dG9rZW4=')).toBe('Authorization: Basic [redacted]');
    expect(redact('endpoint=https://x/;accesskey=c2VjcmV0')).toBe(
      'endpoint=https://x/;accesskey=[redacted]',
    );
    expect(redact('http://a:b@host/path')).toBe('http://[redacted]@host/path');
  });
});

describe('readJson', () => {
  it('parses JSON bodies regardless of content type', async () => {
    expect(
      await readJson(
        request({
          rawBody: '{"a":1}',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
        }),
      ),
    ).toEqual({ a: 1 });
  });

  it('rejects empty bodies unless optional, and invalid JSON', async () => {
    await expect(readJson(request({}))).rejects.toBeInstanceOf(ValidationError);
    expect(await readJson(request({}), { required: false })).toBeUndefined();
    await expect(readJson(request({ rawBody: '{' }))).rejects.toThrow('body: must be valid JSON');
  });

  it('refuses bodies over the size limit', async () => {
    await expect(
      readJson(request({ rawBody: JSON.stringify('x'.repeat(MAX_BODY_BYTES)) })),
    ).rejects.toBeInstanceOf(PayloadTooLargeError);
  });
});

describe('parseWith and routeParam', () => {
  it('collects all problems before throwing', () => {
    const schema = z.object({
      a: text(),
      missing: text(),
      b: integerIn({ min: 60, max: 1440 }).optional(),
      c: text({ maxLength: 10 }).optional(),
    });
    const source = { a: '', b: 5, c: 'x'.repeat(20) };
    expect(() => parseWith(schema, source)).toThrow(ValidationError);
    const problems = (() => {
      try {
        parseWith(schema, source);
        return [];
      } catch (error) {
        return (error as ValidationError).problems;
      }
    })();
    expect(problems.map((p) => p.field)).toEqual(['a', 'missing', 'b', 'c']);
  });

  it('decodes percent-encoded route parameters and rejects missing or malformed ones', () => {
    const req = new HttpRequest({
      method: 'GET',
      url: 'http://localhost/api/x',
      params: { id: '8%3Aacs%3Ax_y', bad: '%E0%A4%A', empty: '' },
    });
    expect(routeParam(req, 'id')).toBe('8:acs:x_y');
    expect(() => routeParam(req, 'bad')).toThrow(ValidationError);
    expect(() => routeParam(req, 'empty')).toThrow(ValidationError);
    expect(() => routeParam(req, 'none')).toThrow(ValidationError);
  });
});
