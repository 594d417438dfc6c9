// The floors of src/ (docs/architecture.md, "Floors"), enforced by `npm run lint`. Lower floors never
// import higher ones:
//   domain   pure rules of requests, plans and traffic (also read by workflow code)
//   objects  pure rules about Kubernetes objects (sanitize, leave-out, selectors, readiness, ...)
//   config   reading the worker's and the CLI's configuration
//   kube     calling API servers; store: the S3 object store and the backup format
//   routers  moving traffic (one router per file)
//   activities, workflows, codec, client, cli, worker, dev: the top floors
// test/unit/layering.test.ts shows each rule firing on a file that breaks it.
/* global module */
/** @type {import('dependency-cruiser').IConfiguration} */
module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'A circle of imports makes its files one unit: nothing in it can be read, tested or moved alone.',
      from: { path: '^src/' },
      to: { circular: true },
    },
    {
      name: 'domain-is-pure',
      severity: 'error',
      comment: 'src/domain holds deterministic rules that workflow code runs: it imports only itself and zod.',
      from: { path: '^src/domain/' },
      to: { pathNot: ['^src/domain/', '(^|/)node_modules/zod/'] },
    },
    {
      name: 'objects-are-pure',
      severity: 'error',
      comment: 'src/objects holds pure rules about Kubernetes objects: no I/O, no higher floor.',
      from: { path: '^src/objects/' },
      to: { pathNot: ['^src/objects/', '^src/domain/'] },
    },
    {
      name: 'workflows-import-only-types-of-activities',
      severity: 'error',
      comment:
        'Workflow code runs in the deterministic sandbox: it takes domain rules, its own files and the types of ' +
        'activities, never their code (nor any client, store or router).',
      from: { path: '^src/workflows/' },
      to: { path: '^src/', pathNot: ['^src/workflows/', '^src/domain/', '^src/activities/contract[.]ts$'] },
    },
    {
      name: 'workflows-take-the-activity-contract-as-types',
      severity: 'error',
      comment: 'The activity contract is imported as `import type` in workflow code: its values would pull activity code into the sandbox.',
      from: { path: '^src/workflows/' },
      to: { path: '^src/activities/', dependencyTypesNot: ['type-only'] },
    },
    {
      name: 'routers-below-activities',
      severity: 'error',
      comment: 'Routers call API servers through src/kube and never reach up into activities, workflows or the CLI.',
      from: { path: '^src/routers/' },
      to: { path: '^src/(activities|workflows|cli|dev|store|client[.]ts|worker[.]ts)' },
    },
    {
      name: 'low-floors-below-activities',
      severity: 'error',
      comment: 'src/kube, src/store, src/objects, src/config and src/domain serve the floors above; they never import them.',
      from: { path: '^src/(kube|store|objects|config|domain)/' },
      to: { path: '^src/(activities|workflows|routers|cli|dev|codec|client[.]ts|worker[.]ts)' },
    },
    {
      name: 'kube-and-store-apart',
      severity: 'error',
      comment: 'Calling API servers and storing backups are separate concerns: the activities bring them together.',
      from: { path: '^src/(kube|store)/' },
      to: { path: '^src/(kube|store)/', pathNot: ['^src/$1/'] },
    },
    {
      name: 'activities-below-workflows-and-cli',
      severity: 'error',
      comment: 'Activities are called by workflows; they never import workflow code, the client or the CLI.',
      from: { path: '^src/activities/' },
      to: { path: '^src/(workflows|cli|dev|client[.]ts|worker[.]ts)' },
    },
    {
      name: 'only-dev-imports-dev',
      severity: 'error',
      comment: 'src/dev is the demo and the local stack\'s helpers: product code never depends on it.',
      from: { path: '^src/', pathNot: '^src/dev/' },
      to: { path: '^src/dev/' },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default'] },
  },
};
