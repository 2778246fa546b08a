/** Nearest-rank percentile of an ascending array (NaN for none), as the load driver computes it. */
export function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return Number.NaN;
  const index = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[index]!;
}

/** An ascending copy, for {@link percentile}. */
export function ascending(values: readonly number[]): number[] {
  return [...values].sort((a, b) => a - b);
}
