// The failure vocabulary: the ApplicationFailure types kubeferry's activities and workflows throw, what
// each means, and which of them retrying cannot fix. The workflow's retry policies, the CLI's exit codes
// and the tests all read these lists, so a new type is declared once, here.

export const FAILURE = {
  // The request, or what it names, is wrong: the operator fixes it and starts again (CLI exit code 2).
  /** The request fails validation, or names what the backup or the clusters do not hold. */
  InvalidRequest: 'InvalidRequest',
  /** The request names a cluster the worker's config does not have. */
  UnknownCluster: 'UnknownCluster',
  /** A migration id already used by another migration (its workflow history holds it). */
  MigrationIdReused: 'MigrationIdReused',
  /** The backup id names no complete backup in the bucket. */
  BackupNotFound: 'BackupNotFound',
  /** The backup was written by a newer format version than this worker reads. */
  UnsupportedBackupVersion: 'UnsupportedBackupVersion',
  /** A type of the backup is served neither by the target nor by a CRD the backup brings. */
  TypeNotServed: 'TypeNotServed',
  /** Objects exist in the target that the request's existingObjects policy does not allow to touch. */
  Conflict: 'Conflict',
  /** The request names clusters, storage, namespaces or an existingObjects policy that the worker's policy forbids. */
  PolicyDenied: 'PolicyDenied',

  // The worker or its environment is set up wrongly: its operator fixes the config or the grants.
  /** A cluster's kubeconfig cannot be used as written (an unsupported proxy-url, a missing file). */
  ClusterMisconfigured: 'ClusterMisconfigured',
  /** A credential lacks a permission the job needs (SelfSubjectAccessReview said no, or a 403). */
  AccessDenied: 'AccessDenied',
  /** Secrets are to be backed up or restored and the worker has no backup key. */
  EncryptionKeyMissing: 'EncryptionKeyMissing',
  /** A backup carries no authentication and the worker holds backup keys (and does not trust unauthenticated backups). */
  BackupNotAuthenticated: 'BackupNotAuthenticated',
  /** A route names a router the worker's config does not have. */
  RouterNotConfigured: 'RouterNotConfigured',
  /** A route's router objects (HTTPRoute, Ingress, HAProxy backend) are not as the route says. */
  RouterMisconfigured: 'RouterMisconfigured',

  // What the data says cannot change by retrying.
  /** A backup with this id exists already (backups are never overwritten). */
  BackupExists: 'BackupExists',
  /** The backup's manifest, plan or an archive does not match what was recorded. */
  CorruptBackup: 'CorruptBackup',
  /** An object is larger than the API server accepts. */
  ObjectTooLarge: 'ObjectTooLarge',
  /** The target's admission (quota, policy, PodSecurity) refuses the pods a workload would create. */
  AdmissionRefused: 'AdmissionRefused',
  /** Objects of a wave could not be created (each named in the message). */
  RestoreFailed: 'RestoreFailed',
  /** Workloads were not ready within the request's readiness timeout. */
  ReadinessTimeout: 'ReadinessTimeout',
  /** A rollback could not send every route back to the source (each named in the message). */
  RollbackIncomplete: 'RollbackIncomplete',

  // Transient: retried by Temporal with backoff (shown as a pending activity meanwhile).
  /** The S3 store does not answer. */
  StorageUnavailable: 'StorageUnavailable',
  /** CRDs the restore created are not Established yet. */
  CrdNotEstablished: 'CrdNotEstablished',
  /** A router (HAProxy's admin socket, an API server) does not answer. */
  RouterUnavailable: 'RouterUnavailable',
  /** A router's weights read back differently from what was written. */
  ReadBackMismatch: 'ReadBackMismatch',
  /** A router object the route names is missing. */
  RouterObjectMissing: 'RouterObjectMissing',
  /** Any other router failure. */
  RouterError: 'RouterError',
  /** Parts a backup attempt resumed from were removed while it ran (an attempt that failed for good cleaned up): the next attempt collects them again. */
  BackupPartsRemoved: 'BackupPartsRemoved',
} as const;

export type FailureType = (typeof FAILURE)[keyof typeof FAILURE];

/** Failures that another attempt cannot fix: the workflow's activity retry policies stop at them. */
export const NON_RETRYABLE: readonly FailureType[] = [
  FAILURE.InvalidRequest, FAILURE.UnknownCluster, FAILURE.MigrationIdReused, FAILURE.BackupNotFound,
  FAILURE.UnsupportedBackupVersion, FAILURE.TypeNotServed, FAILURE.Conflict, FAILURE.PolicyDenied,
  FAILURE.ClusterMisconfigured, FAILURE.AccessDenied, FAILURE.EncryptionKeyMissing, FAILURE.BackupNotAuthenticated, FAILURE.RouterNotConfigured, FAILURE.RouterMisconfigured,
  FAILURE.BackupExists, FAILURE.CorruptBackup, FAILURE.ObjectTooLarge, FAILURE.AdmissionRefused,
];

/** Failures of the request itself (not of the worker or the clusters): the CLI exits 2 for them. */
export const INPUT_FAILURES: ReadonlySet<string> = new Set<FailureType>([
  FAILURE.InvalidRequest, FAILURE.UnknownCluster, FAILURE.MigrationIdReused, FAILURE.BackupNotFound,
  FAILURE.UnsupportedBackupVersion, FAILURE.TypeNotServed, FAILURE.Conflict, FAILURE.PolicyDenied,
]);
