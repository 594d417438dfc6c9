// Test runs log only errors: expected failures (bad requests, rollbacks) would otherwise fill the output.
import { DefaultLogger, Runtime } from '@temporalio/worker';

export function quietRuntime(): void {
  Runtime.install({
    logger: new DefaultLogger('ERROR'),
    telemetryOptions: { logging: { filter: { core: 'ERROR', other: 'ERROR' } } },
  });
}
