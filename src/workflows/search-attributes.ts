// Typed search attributes of a migration, for finding it in the Web UI and through the client
// (`MigrationPhase="traffic" AND TrafficWeight >= 50`). The local stack registers them (scripts/stack/up.sh);
// docker-compose.yml's admin tools do the same. Values are names and numbers only: search attributes are
// never encrypted by a payload codec.
import { defineSearchAttributeKey, SearchAttributeType } from '@temporalio/common';

export const SEARCH_ATTRIBUTES = {
  migrationId: defineSearchAttributeKey('MigrationId', SearchAttributeType.KEYWORD),
  task: defineSearchAttributeKey('MigrationTask', SearchAttributeType.KEYWORD),
  phase: defineSearchAttributeKey('MigrationPhase', SearchAttributeType.KEYWORD),
  trafficWeight: defineSearchAttributeKey('TrafficWeight', SearchAttributeType.INT),
  readyPercent: defineSearchAttributeKey('ReadyPercent', SearchAttributeType.INT),
  sourceCluster: defineSearchAttributeKey('SourceCluster', SearchAttributeType.KEYWORD),
  targetCluster: defineSearchAttributeKey('TargetCluster', SearchAttributeType.KEYWORD),
} as const;
