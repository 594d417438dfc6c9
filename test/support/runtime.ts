// Test runs log only errors: expected failures (bad requests, rollbacks) would otherwise fill the output.
import type { Connection } from '@temporalio/client';
import { DefaultLogger, Runtime } from '@temporalio/worker';
import { SEARCH_ATTRIBUTES } from '../../src/workflows/search-attributes.js';

let installed = false;

/** Installs the quiet runtime once per process (a test file may start several workers). */
export function quietRuntime(): void {
  if (installed) return;
  installed = true;
  Runtime.install({
    logger: new DefaultLogger('ERROR'),
    telemetryOptions: { logging: { filter: { core: 'ERROR', other: 'ERROR' } } },
  });
}

/** Registers kubeferry's typed search attributes on a test server (the local stack's up.sh does it for the dev server). */
export async function registerSearchAttributes(connection: Connection): Promise<void> {
  const indexed: Record<string, number> = { KEYWORD: 2, INT: 3 }; // temporal.api.enums.v1.IndexedValueType
  const searchAttributes = Object.fromEntries(Object.values(SEARCH_ATTRIBUTES).map((key) => [key.name, indexed[key.type]!]));
  await connection.operatorService.addSearchAttributes({ namespace: 'default', searchAttributes });
}
