// Setting a weight that lives in a Kubernetes object (an HTTPRoute's backendRefs, a canary Ingress's
// annotation): the same discipline for every such router. Each write carries the resourceVersion it read,
// so it is a compare-and-swap: a concurrent edit (409) is re-read and written again, never overwritten;
// and what was set is read back before the step counts as done.
import { apiStatus } from '../kube/errors.js';
import { ReadBackMismatch, RouterError } from './router.js';

/** Compare-and-swap attempts before a conflicting writer wins. */
const CONFLICT_ATTEMPTS = 5;

export async function setObjectWeight(
  percent: number,
  where: string,
  /** Reads the object and writes it with `percent`, carrying the resourceVersion it read. */
  write: () => Promise<void>,
  readWeight: () => Promise<number>,
): Promise<number> {
  if (!Number.isInteger(percent) || percent < 0 || percent > 100) throw new RouterError(`weight must be an integer 0..100, not ${percent}`);
  for (let attempt = 1; ; attempt++) {
    try {
      await write();
      break;
    } catch (err) {
      if (apiStatus(err) !== 409 || attempt >= CONFLICT_ATTEMPTS) throw err;
    }
  }
  const applied = await readWeight();
  if (applied !== percent) throw new ReadBackMismatch(`${where} reads back ${applied}% to the target after setting ${percent}%`);
  return applied;
}
