// Where Temporal is, in one place for the worker, the client library and the CLI: the defaults (the
// local dev server), the environment variables that set them, and the order in which settings win.

export interface TemporalSettings {
  /** The frontend, host:port. */
  address: string;
  namespace: string;
  /** The task queue kubeferry's workers poll. */
  taskQueue: string;
}

export const TEMPORAL_DEFAULTS: Readonly<TemporalSettings> = { address: '127.0.0.1:7233', namespace: 'default', taskQueue: 'kubeferry' };

/** The environment variables of each setting (TEMPORAL_* as Temporal's own tools read them). */
export const TEMPORAL_ENV = { address: 'TEMPORAL_ADDRESS', namespace: 'TEMPORAL_NAMESPACE', taskQueue: 'KUBEFERRY_TASK_QUEUE', webUi: 'TEMPORAL_UI_URL' } as const;

const given = (v: unknown) => (typeof v === 'string' && v !== '' ? v : undefined);

/** Each setting from the first place that gives it: flags (or options), then the environment, then the config file, then the default. */
export function temporalSettings(
  flags: Partial<Record<keyof TemporalSettings, string | undefined>> = {},
  env: NodeJS.ProcessEnv = process.env,
  file: Partial<Record<keyof TemporalSettings, unknown>> = {},
): TemporalSettings {
  const pick = (key: keyof TemporalSettings) => given(flags[key]) ?? given(env[TEMPORAL_ENV[key]]) ?? given(file[key]) ?? TEMPORAL_DEFAULTS[key];
  return { address: pick('address'), namespace: pick('namespace'), taskQueue: pick('taskQueue') };
}

/** The dev server's Web UI sits next to its frontend; elsewhere the UI's address must be configured. */
export function localWebUi(address: string | undefined): string | undefined {
  return address === undefined || /^(127\.0\.0\.1|localhost):7233$/.test(address) ? 'http://127.0.0.1:8233' : undefined;
}
