/**
 * Middleware composition as in hono's `compose` (and koa's): each step gets the request context and `next`,
 * and either answers (not calling `next`) or hands on, possibly doing work after `next` resolves.
 */
export type Next = () => Promise<void>;
export type Middleware<C> = (context: C, next: Next) => Promise<void>;

export function compose<C>(steps: readonly Middleware<C>[]): (context: C) => Promise<void> {
  return (context) => {
    let last = -1;
    const dispatch = async (i: number): Promise<void> => {
      if (i <= last) throw new Error('next() called more than once');
      last = i;
      const step = steps[i];
      if (step) await step(context, () => dispatch(i + 1));
    };
    return dispatch(0);
  };
}
