import { RateLimitedError, ValidationError } from '../../src/errors';

describe('AppError hierarchy', () => {
  it('lists every field problem of a validation error', () => {
    const error = new ValidationError([
      { field: 'scopes', message: 'must not be empty' },
      { field: 'expiresInMinutes', message: 'must be an integer in 60..1440' },
    ]);
    expect(error.status).toBe(400);
    expect(error.name).toBe('ValidationError');
    expect(error.extensions()).toEqual({
      errors: [
        { field: 'scopes', message: 'must not be empty' },
        { field: 'expiresInMinutes', message: 'must be an integer in 60..1440' },
      ],
    });
  });

  it('rounds Retry-After up to whole seconds', () => {
    expect(new RateLimitedError('slow down', 1.2).headers).toEqual({ 'Retry-After': '2' });
  });
});
