// Bounded concurrency for the activities' many small calls (restore writes, list pages, lookups): node has
// no built-in pool, and a dependency for these ten lines would weigh more than they do.

/** In flight at once unless the caller says otherwise (a cluster's own `concurrency`, usually). */
const CONCURRENCY = 16;

/** Runs `fn` over `items`, at most `concurrency` at a time; `done` counts the items started so far. */
export async function forEachConcurrently<T>(items: readonly T[], fn: (item: T, done: number) => Promise<void>, concurrency = CONCURRENCY): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const item = items[next++]!;
      await fn(item, next);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, items.length) }, worker));
}

