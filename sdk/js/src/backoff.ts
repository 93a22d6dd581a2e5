/** Exponential backoff with full jitter: uniform in [0, min(max, initial * 2^attempt)] (the C# SDK's policy). */
export function backoffDelay(attempt: number, initialMs: number, maxMs: number, random: () => number = Math.random): number {
  const bound = Math.min(maxMs, initialMs * 2 ** Math.min(attempt, 30));
  return random() * bound;
}
