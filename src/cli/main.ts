// The `kubeferry` command line: start, plan, follow and steer migrations, list them and the backups.
// It talks to Temporal only; the worker holds every credential.
import { randomBytes } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { Command, CommanderError, Option } from 'commander';
import type { Client } from '@temporalio/client';
import YAML from 'yaml';
import {
  approveStep, cleanupMigration, connect, describeBackup, getMigration, listBackups, listMigrations, pauseMigration, promoteMigration, resumeMigration,
  rollbackMigration, startMigration, watchMigration,
} from '../client.js';
import { loadCliConfig, type CliConfig } from '../config/cli-config.js';
import { ConfigError } from '../config/worker-config.js';
import { TEMPORAL_DEFAULTS } from '../config/temporal.js';
import { toDot, toMermaid } from '../domain/plan-graph.js';
import { InvalidRequestError, migrationIdProblem, parseMigrationRequest } from '../domain/request.js';
import { KUBEFERRY_IDENTITY, RbacScopeError, routerRbac, sourceSecretsRbac, type ClusterRbac, type RbacSubject } from '../domain/request-rbac.js';
import type { MigrationResult } from '../workflows/migrate-cluster.js';
import { CliError, describeError, EXIT } from './errors.js';
import { liveView } from './live-view.js';
import {
  backupsTable, backupView, cleanupView, endedView, migrationsTable, nextCommands, paint, planView, progressView, resultView, stillInTarget, styleFor,
  type EndedMigration, type Style,
} from './render.js';
import { buildRequest, type RequestFlags } from './request-builder.js';

type Output = 'table' | 'json' | 'yaml';

interface GlobalOptions {
  config?: string;
  address?: string;
  temporalNamespace?: string;
  taskQueue?: string;
  output: Output;
}

interface Context {
  config: CliConfig;
  output: Output;
  style: Style;
  client(): Promise<Client>;
  print(value: unknown, table: (s: Style) => string): void;
  webUi(migrationId: string): string | undefined;
}

function context(cmd: Command): Context {
  const g = cmd.optsWithGlobals<GlobalOptions>();
  const config = loadCliConfig({ config: g.config, address: g.address, temporalNamespace: g.temporalNamespace, taskQueue: g.taskQueue });
  const style = styleFor(process.stdout);
  let client: Client | undefined;
  return {
    config,
    output: g.output,
    style,
    async client() {
      if (client) return client;
      const { address, namespace, taskQueue } = config.temporal;
      // Payload encryption (payloadEncryption in the config, or KUBEFERRY_PAYLOAD_KEY_FILE): the key is read first.
      const connected = await connect({ address, namespace, taskQueue, payloadEncryption: config.payloadEncryption, connectTimeout: '5s' }).catch((err: unknown) => {
        if (err instanceof ConfigError) throw err;
        throw new CliError(`cannot reach Temporal at ${address} (${err instanceof Error ? err.message : String(err)}); ` +
          `set --address, TEMPORAL_ADDRESS or temporal.address in the config file, or start the local stack with 'npm run stack:up'`, EXIT.unreachable);
      });
      client = connected.client;
      connections.push(client.connection);
      return client;
    },
    print(value, table) {
      if (g.output === 'json') console.log(JSON.stringify(value, null, 2));
      else if (g.output === 'yaml') process.stdout.write(YAML.stringify(value));
      else console.log(table(style));
    },
    webUi(migrationId) {
      const ui = config.temporal.webUi;
      return ui ? `${ui}/namespaces/${encodeURIComponent(config.temporal.namespace)}/workflows/${encodeURIComponent(migrationId)}` : undefined;
    },
  };
}

const collect = (value: string, previous: string[] = []) => [...previous, value];
const integer = (name: string) => (value: string) => {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new CliError(`${name}: "${value}" is not a whole number`, EXIT.usage);
  return n;
};

/** The request options shared by `start` and `plan`, named like velero's and kubectl's where they overlap. */
function requestOptions(cmd: Command): Command {
  return cmd
    .argument('[request-file]', 'a migration request in YAML or JSON (schema/migration-request.schema.json); flags override its fields')
    .option('--id <migration-id>', 'the migration id (a DNS label); starting the same id again returns the running migration')
    .option('--source <cluster>', 'source cluster, by the name the worker knows it')
    .option('--target <cluster>', 'target cluster, by the name the worker knows it')
    .option('-n, --include-namespaces <names>', 'namespaces to migrate, comma-separated, * allowed', collect)
    .option('--exclude-namespaces <names>', 'namespaces to leave out', collect)
    .option('--namespace-mapping <old:new>', 'restore namespace old as new', collect)
    .option('--include-resources <types>', 'resource types as kubectl names them (deployments, deploy, widgets.example.com, *)', collect)
    .option('--exclude-resources <types>', 'resource types to leave out', collect)
    .addOption(new Option('--cluster-resources <mode>', 'cluster-scoped objects: only those the selection needs, all of the selected types, or none').choices(['auto', 'include', 'exclude']))
    .option('-l, --selector <selector>', 'label selector, as kubectl -l')
    .option('--bucket <bucket>', 'S3 bucket (default: storage.bucket in the config file)')
    .option('--prefix <prefix>', 'key prefix in the bucket (default: storage.prefix, else "kubeferry")')
    .addOption(new Option('--existing-objects <policy>', 'objects already in the target').choices(['skip', 'update', 'fail']));
}

function trafficOptions(cmd: Command): Command {
  return cmd
    .option('--route <name>', 'a route defined under routes: in the config file (repeatable)', collect)
    .option('--steps <weights>', 'traffic weights to the target, e.g. 10,25,50,100')
    .option('--approve <step>', 'step number (1-based) that waits for `kubeferry approve` (repeatable)', (v, prev: number[] = []) => [...prev, integer('--approve')(v)])
    .option('--step-interval <duration>', 'time between steps, e.g. 30s, 5m')
    .option('--cutover-after <duration>', 'grayscale time after which all traffic moves to the target');
}

function readRequestFile(file: string | undefined): unknown {
  if (!file) return undefined;
  let text: string;
  try {
    text = file === '-' ? fs.readFileSync(0, 'utf8') : fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new CliError(`cannot read the request file ${file}: ${(err as Error).message}`, EXIT.invalid);
  }
  try {
    return YAML.parse(text);
  } catch (err) {
    throw new InvalidRequestError([`(request file ${file}): not valid YAML or JSON: ${(err as Error).message}`]);
  }
}

interface RequestCommandOptions extends RequestFlags {
  id?: string;
  includeNamespaces?: string[];
  namespaceMapping?: string[];
  route?: string[];
  existingObjects?: string;
}

function requestFrom(ctx: Context, file: string | undefined, o: RequestCommandOptions, task?: string) {
  const flags: RequestFlags = { ...o, namespaceMappings: o.namespaceMapping, routes: o.route, ...(task ? { task } : {}) };
  const request = buildRequest(ctx.config, readRequestFile(file), flags);
  parseMigrationRequest(request); // every problem at once, before anything starts
  return request;
}

function newId(task: string): string {
  return `${task}-${new Date().toISOString().slice(0, 19).replace(/[-:]/g, '').replace('T', '-')}-${randomBytes(2).toString('hex')}`;
}

function checkId(id: string) {
  const problem = migrationIdProblem(id);
  if (problem) throw new InvalidRequestError([`--id: ${problem}`]);
}

const succeeded = (r: MigrationResult) => r.status === 'Completed' || r.status === 'Planned';

/** Follows a migration until it ends with the live view, then prints what it did. */
async function follow(ctx: Context, migrationId: string, intervalMs: number): Promise<MigrationResult> {
  const started = Date.now();
  const onProgress = liveView({ output: ctx.output, style: ctx.style, redraw: Boolean(process.stdout.isTTY) && ctx.output === 'table' });
  const result = await watchMigration(await ctx.client(), migrationId, { intervalMs, onProgress });
  if (ctx.output === 'table') console.log(`\n${resultView(result, ctx.style, Date.now() - started)}`);
  return result;
}

export function program(): Command {
  const cli = new Command('kubeferry')
    .description('Hot-migrates Kubernetes workloads between clusters through S3, then moves their traffic in steps (a Temporal workflow).')
    .version('0.1.0')
    .showHelpAfterError('(run with --help for usage)')
    .option('--config <file>', 'config file (default: $KUBEFERRY_CONFIG, ./kubeferry.yaml, ~/.config/kubeferry/config.yaml, the local stack\'s)')
    .option('--address <host:port>', `Temporal frontend (default: $TEMPORAL_ADDRESS, temporal.address, ${TEMPORAL_DEFAULTS.address})`)
    .option('--temporal-namespace <namespace>', `Temporal namespace (default: $TEMPORAL_NAMESPACE, temporal.namespace, ${TEMPORAL_DEFAULTS.namespace})`)
    .option('--task-queue <queue>', `the workers' task queue (default: $KUBEFERRY_TASK_QUEUE, temporal.taskQueue, ${TEMPORAL_DEFAULTS.taskQueue})`)
    .addOption(new Option('-o, --output <format>', 'output format').choices(['table', 'json', 'yaml']).default('table'))
    .exitOverride();

  trafficOptions(requestOptions(cli.command('start')
    .description('Start a migration, backup or restore (runs on the workers; the migration id is the workflow id)')))
    .addOption(new Option('--task <task>', 'what to do').choices(['migrate', 'backup', 'restore']))
    .option('--backup <backup-id>', 'the backup to restore (task restore; default: a new backup named after the migration)')
    .option('-w, --watch', 'follow the migration until it ends, with live progress')
    .option('--interval <ms>', 'how often --watch refreshes, in milliseconds', integer('--interval'), 1000)
    .option('--dry-run', 'print the request that would be started, and stop')
    .addHelpText('after', '\nExamples:\n  kubeferry start request.yaml --watch\n  kubeferry start --source prod-a --target prod-b -n shop,billing --route web --steps 10,50,100 --approve 2\n  kubeferry start --task restore --backup nightly-0412 --target dr -n shop')
    .action(async (file: string | undefined, o: RequestCommandOptions & { task?: string; watch?: boolean; interval: number; dryRun?: boolean }, cmd: Command) => {
      const ctx = context(cmd);
      const task = o.task ?? (o.backup ? 'restore' : undefined);
      const request = requestFrom(ctx, file, o, task);
      const id = o.id ?? newId(request.task ?? 'migrate');
      checkId(id);
      if (o.dryRun) return ctx.print({ migrationId: id, request }, () => YAML.stringify({ migrationId: id, request }).trimEnd());
      const client = await ctx.client();
      const handle = await startMigration(client, ctx.config.temporal.taskQueue, id, request);
      const ui = ctx.webUi(id);
      const started = { migrationId: handle.workflowId, ...(ui ? { webUi: ui } : {}) };
      if (!o.watch || ctx.output !== 'table') ctx.print(started, (s) => `started ${paint(s, 'bold', id)}${ui ? `\nWeb UI: ${ui}` : ''}`);
      else console.log(`started ${paint(ctx.style, 'bold', id)}${ui ? `  Web UI: ${ui}` : ''}`);
      if (o.watch) {
        const result = await follow(ctx, id, o.interval);
        if (!succeeded(result)) process.exitCode = EXIT.failed;
      }
    });

  requestOptions(cli.command('plan')
    .description('Dry run: connectivity, discovery, restore waves, what is left out and why, conflicts in the target; writes nothing'))
    .option('--graph <path>', 'write the dependency graph as <path>.mmd (Mermaid) and <path>.svg (Graphviz, where installed); default ./<plan-id>')
    .option('--no-graph', 'do not write the dependency graph')
    .action(async (file: string | undefined, o: RequestCommandOptions & { graph: string | false }, cmd: Command) => {
      const ctx = context(cmd);
      const request = { ...requestFrom(ctx, file, o, 'plan'), routes: [] };
      const id = o.id ?? newId('plan');
      checkId(id);
      const client = await ctx.client();
      const handle = await startMigration(client, ctx.config.temporal.taskQueue, id, request);
      const result = await handle.result();
      const plan = result.plan!;
      const files: Record<string, string> = {};
      const notes: string[] = [];
      if (o.graph !== false) {
        const base = typeof o.graph === 'string' ? o.graph : id;
        fs.mkdirSync(path.dirname(path.resolve(base)), { recursive: true });
        files.mermaid = `${base}.mmd`;
        fs.writeFileSync(files.mermaid, toMermaid(plan.graph));
        const dot = spawnSync('dot', ['-Tsvg', '-o', `${base}.svg`], { input: toDot(plan.graph), encoding: 'utf8' });
        if (dot.error) notes.push(`no SVG: Graphviz's dot is not installed (apt-get install graphviz); the Mermaid text renders on GitHub and in mermaid.live`);
        else if (dot.status !== 0) notes.push(`no SVG: dot failed: ${dot.stderr.trim()}`);
        else files.svg = `${base}.svg`;
      }
      ctx.print({ planId: id, plan, files, notes }, (s) => [
        planView(plan, s),
        ...(Object.keys(files).length ? [`\ndependency graph (${plan.graph.level} level, ${plan.graph.nodes.length} nodes): ${Object.values(files).join(', ')}`] : []),
        ...notes,
      ].join('\n'));
      if (plan.notServedByTarget.length) process.exitCode = EXIT.failed;
    });

  cli.command('status')
    .description('Show a migration\'s progress (or its result once it has ended)')
    .argument('<migration-id>')
    .option('-w, --watch', 'follow it until it ends, with live progress bars')
    .option('--interval <ms>', 'how often --watch refreshes, in milliseconds', integer('--interval'), 1000)
    .action(async (id: string, o: { watch?: boolean; interval: number }, cmd: Command) => {
      const ctx = context(cmd);
      const client = await ctx.client();
      const state = await getMigration(client, id);
      if (state.running && o.watch) {
        const result = await follow(ctx, id, o.interval);
        if (!succeeded(result)) process.exitCode = EXIT.failed;
        return;
      }
      if (state.running) return ctx.print(state.progress, (s) => progressView(state.progress, s));
      const ended: EndedMigration = {
        migrationId: id, status: state.status,
        ...(state.closedAt ? { closedAt: state.closedAt } : {}),
        ...(state.result ? { resultStatus: state.result.status } : {}),
        ...(state.failure !== undefined ? { failure: describeError(state.failure).message.replace(/^the migration failed: /, '') } : {}),
        ...(state.progress ? { progress: state.progress } : {}),
        ...(state.cleanup ? { cleanup: state.cleanup } : {}),
      };
      // As before for scripts: a result's own fields (status Completed, RolledBack, Planned), else the workflow's status.
      const document = {
        ...(state.result ?? {}), ...ended, status: state.result?.status ?? state.status, workflowStatus: state.status,
        stillInTarget: stillInTarget(ended), next: nextCommands(ended),
      };
      ctx.print(document, (s) => endedView(ended, s));
      if (!state.result || !succeeded(state.result)) process.exitCode = EXIT.failed;
    });

  cli.command('pause').description('Pause: hold between waves and stop the step and threshold clocks').argument('<migration-id>')
    .action(async (id: string, _o: unknown, cmd: Command) => {
      const ctx = context(cmd);
      const p = await pauseMigration(await ctx.client(), id);
      ctx.print(p, (s) => progressView(p, s));
    });

  cli.command('resume').description('Resume a paused migration').argument('<migration-id>')
    .action(async (id: string, _o: unknown, cmd: Command) => {
      const ctx = context(cmd);
      const p = await resumeMigration(await ctx.client(), id);
      ctx.print(p, (s) => progressView(p, s));
    });

  cli.command('approve').description('Approve the traffic step that waits for an operator').argument('<migration-id>')
    .argument('[step]', 'the step being approved (1-based); refused if another one is waiting', integer('step'))
    .action(async (id: string, step: number | undefined, _o: unknown, cmd: Command) => {
      const ctx = context(cmd);
      const p = await approveStep(await ctx.client(), id, step === undefined ? {} : { step });
      ctx.print(p, (s) => progressView(p, s));
    });

  cli.command('rollback').description('Send all traffic back to the source at once; optionally delete what the migration created in the target')
    .argument('<migration-id>')
    .option('--cleanup', 'also delete the objects this migration created in the target (objects that existed before are kept)')
    .option('--reason <text>', 'why; shown in the progress and the result', 'requested from the command line')
    .action(async (id: string, o: { cleanup?: boolean; reason: string }, cmd: Command) => {
      const ctx = context(cmd);
      const p = await rollbackMigration(await ctx.client(), id, { reason: o.reason, cleanup: Boolean(o.cleanup) });
      ctx.print(p, (s) => progressView(p, s));
    });

  cli.command('promote').description('Move traffic on now: the next step, or with --full every route to 100% target (refused while a route has no ready workload)')
    .argument('<migration-id>')
    .option('--full', 'every route to 100% target now, skipping the remaining steps, approvals and the threshold')
    .action(async (id: string, o: { full?: boolean }, cmd: Command) => {
      const ctx = context(cmd);
      const p = await promoteMigration(await ctx.client(), id, { full: Boolean(o.full) });
      ctx.print(p, (s) => progressView(p, s));
    });

  cli.command('cleanup').description('Remove what an ended migration created in the target (its routes go back to the source first); what existed before stays')
    .argument('<migration-id>')
    .option('--force', 'also for a completed migration, whose traffic is on the target')
    .addHelpText('after', '\nFor a running migration use: kubeferry rollback <migration-id> --cleanup')
    .action(async (id: string, o: { force?: boolean }, cmd: Command) => {
      const ctx = context(cmd);
      const report = await cleanupMigration(await ctx.client(), ctx.config.temporal.taskQueue, id, { force: Boolean(o.force) });
      ctx.print(report, (s) => cleanupView(report, s));
    });

  cli.command('list').description('List migrations, newest first, through their search attributes')
    .option('-q, --query <query>', 'narrow with the visibility query language, e.g. \'MigrationPhase = "traffic" AND TrafficWeight >= 50\'')
    .option('--running', 'only running migrations')
    .option('--limit <n>', 'at most this many', integer('--limit'), 50)
    .action(async (o: { query?: string; running?: boolean; limit: number }, cmd: Command) => {
      const ctx = context(cmd);
      const query = [o.query ? `(${o.query})` : '', o.running ? 'ExecutionStatus = "Running"' : ''].filter(Boolean).join(' AND ');
      const list = await listMigrations(await ctx.client(), query || undefined, o.limit);
      ctx.print(list, (s) => migrationsTable(list, s));
    });

  const rbac = cli.command('rbac')
    .description("Print the RBAC a request needs beyond deploy/rbac/, scoped to it: Secret reads in the source's selected namespaces, router writes on its routes' objects")
    .addHelpText('after', '\nExamples:\n  kubeferry rbac source request.yaml | kubectl --context prod-a apply -f -\n  kubeferry rbac router request.yaml | kubectl --context prod-b apply -f -');
  const subjectOf = (value: string | undefined): RbacSubject => {
    if (!value) return KUBEFERRY_IDENTITY;
    const [namespace, name, ...rest] = value.split('/');
    if (!namespace || !name || rest.length) throw new CliError(`--service-account: "${value}" is not <namespace>/<name>`, EXIT.usage);
    return { namespace, name };
  };
  const printRbac = (ctx: Context, what: string, grants: ClusterRbac[]) => ctx.print(grants, () => grants.map((g) => [
    `# kubeferry rbac ${what}: apply in cluster "${g.cluster}" (kubectl --context <its context> apply -f -)`,
    ...g.notes.map((n) => `# ${n}`),
    ...g.objects.map((o) => `---\n${YAML.stringify(o).trimEnd()}`),
  ].join('\n')).join('\n---\n') || `# kubeferry rbac ${what}: nothing to grant for this request`);
  const scoped = <T>(make: () => T): T => {
    try {
      return make();
    } catch (err) {
      if (err instanceof RbacScopeError) throw new CliError(err.message, EXIT.invalid);
      throw err;
    }
  };
  const rbacCommand = (name: string, description: string, grants: (request: ReturnType<typeof parseMigrationRequest>, subject: RbacSubject) => ClusterRbac[]) =>
    trafficOptions(requestOptions(rbac.command(name).description(description)))
      .option('--service-account <namespace/name>', `the worker's identity (default: ${KUBEFERRY_IDENTITY.namespace}/${KUBEFERRY_IDENTITY.name})`)
      .action((file: string | undefined, o: RequestCommandOptions & { serviceAccount?: string }, cmd: Command) => {
        const ctx = context(cmd);
        const request = parseMigrationRequest(requestFrom(ctx, file, o));
        printRbac(ctx, name, scoped(() => grants(request, subjectOf(o.serviceAccount))));
      });
  rbacCommand('source', "Roles that let the source identity read Secrets in the request's namespaces, and nowhere else",
    (request, subject) => [sourceSecretsRbac(request, subject)]);
  rbacCommand('router', "Roles that let the routers set weights on the request's routes' HTTPRoutes and canary Ingresses, and on nothing else",
    (request, subject) => routerRbac(request.routes, subject));

  const backups = cli.command('backups').description('Backups in the object store (read by a worker, which holds the S3 credentials)');
  const storageOf = (ctx: Context, o: { bucket?: string; prefix?: string }) => {
    const bucket = o.bucket ?? ctx.config.storage.bucket;
    if (!bucket) throw new CliError('no bucket: pass --bucket, set KUBEFERRY_BUCKET or storage.bucket in the config file', EXIT.usage);
    return { bucket, prefix: o.prefix ?? ctx.config.storage.prefix ?? 'kubeferry' };
  };
  backups.command('list').description('List backups, newest first; unfinished ones show as incomplete')
    .option('--bucket <bucket>').option('--prefix <prefix>')
    .option('--limit <n>', 'at most this many', integer('--limit'), 100)
    .action(async (o: { bucket?: string; prefix?: string; limit: number }, cmd: Command) => {
      const ctx = context(cmd);
      const list = await listBackups(await ctx.client(), ctx.config.temporal.taskQueue, storageOf(ctx, o), o.limit);
      ctx.print(list, (s) => backupsTable(list, s));
    });
  backups.command('describe').description('One backup: objects by kind, restore waves, what was left out').argument('<backup-id>')
    .option('--bucket <bucket>').option('--prefix <prefix>')
    .action(async (id: string, o: { bucket?: string; prefix?: string }, cmd: Command) => {
      const ctx = context(cmd);
      const b = await describeBackup(await ctx.client(), ctx.config.temporal.taskQueue, storageOf(ctx, o), id);
      ctx.print(b, (s) => backupView(b, s));
    });

  return cli;
}

/** Connections opened by commands; closed when the command ends so the process can exit on its own. */
const connections: Client['connection'][] = [];

export async function run(argv: string[]): Promise<number> {
  const cli = program();
  try {
    await cli.parseAsync(argv, { from: 'user' });
    return typeof process.exitCode === 'number' ? process.exitCode : EXIT.ok;
  } catch (err) {
    if (err instanceof CommanderError) {
      // --help and --version end here too, with code 0; commander has printed what was wrong.
      return err.exitCode === 0 ? EXIT.ok : EXIT.usage;
    }
    const { exitCode, message } = describeError(err);
    process.stderr.write(`kubeferry: ${message}\n`);
    return exitCode;
  } finally {
    await Promise.all(connections.splice(0).map((c) => c.close().catch(() => undefined)));
  }
}
