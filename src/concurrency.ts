// Bounded concurrency for the activities' many small calls (restore writes, list pages, lookups): node has
// no built-in pool, and a dependency for these ten lines would weigh more than they do.

/** In flight at once unless the caller says otherwise (a cluster's own `concurrency`, usually). */
const CONCURRENCY = 16;

/**
 * Runs `fn` over `items`, at most `concurrency` at a time; `done` counts the items started so far. After a
 * failure no item starts, and the first error is thrown only once those in flight have settled: nothing of
 * the call goes on writing behind the caller's back (a failed backup's cleanup, a rollback's cleanup).
 */
export async function forEachConcurrently<T>(items: readonly T[], fn: (item: T, done: number) => Promise<void>, concurrency = CONCURRENCY): Promise<void> {
  let next = 0;
  let failure: { error: unknown } | undefined;
  const worker = async () => {
    while (!failure && next < items.length) {
      const item = items[next++]!;
      try {
        await fn(item, next);
      } catch (error) {
        failure ??= { error };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
  if (failure) throw failure.error;
}
