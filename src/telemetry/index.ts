/** Client spans for outgoing calls; `register.ts` (imported by `src/index.ts`) switches export on. */
export { withSpan, type SpanAttributes } from './span';
