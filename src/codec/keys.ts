// The keys that encrypt Temporal payloads (workflow and activity inputs and results, heartbeats, queries,
// updates, summaries, failures), read from a key file that the worker, the CLI and the codec server share.
// A separate file from the backup key: who may read workflow data in the Web UI is not who may read the
// Secrets in S3.
//
// Key file: one key per line, `<key-id>=<64 hex characters>` (or `<key-id> <hex>`); a line with only the
// 64 hex characters (the form of `openssl rand -hex 32`) gets an id derived from the key, as backup keys
// do. Blank lines and `#` comments are ignored. Every key decrypts (its id is stored in each payload);
// `keyId` picks the one that encrypts, by default the last in the file, so rotating is: append a key,
// restart the worker, the CLI users and the codec server, and keep the old keys while histories that use
// them are still needed.
import { fileURLToPath } from 'node:url';
import { appendKey, loadKeyring, type Keyring } from '../config/key-file.js';
import type { PayloadEncryptionSettings } from '../config/worker-config.js';

export { derivedKeyId, parseKeyFile } from '../config/key-file.js';

export type PayloadKeyring = Keyring;

/** Reads the keys that `payloadEncryption` names; every problem is a ConfigError that says what to fix. */
export function loadPayloadKeyring(settings: PayloadEncryptionSettings): PayloadKeyring {
  return loadKeyring(settings.keyFile, 'payload key file', {
    keyId: settings.keyId,
    keyIdSetting: 'payloadEncryption.keyId or KUBEFERRY_PAYLOAD_KEY_ID',
    hint: `create it with 'npx tsx src/codec/keys.ts add ${settings.keyFile}', or turn payload encryption off by removing ` +
      'payloadEncryption from the config (and KUBEFERRY_PAYLOAD_KEY_FILE from the environment)',
  });
}

/**
 * Appends a new random key to a key file (created with mode 600 when missing) and returns its id. The
 * new key is the last one, so it encrypts from the next start on unless keyId names another.
 */
export function addKey(file: string, id?: string): string {
  return appendKey(file, 'payload key file',
    '# kubeferry payload encryption keys: "<key-id>=<64 hex>", one per line; the last one encrypts unless payloadEncryption.keyId names another.\n', id);
}

// `npx tsx src/codec/keys.ts add <file> [key-id]`: makes a key file, or adds a key to one (rotation).
if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const [command, file, id] = process.argv.slice(2);
  if (command !== 'add' || !file) {
    console.error('usage: npx tsx src/codec/keys.ts add <key-file> [key-id]');
    process.exit(2);
  }
  try {
    const added = addKey(file, id);
    console.log(`added key "${added}" to ${file}; it encrypts new payloads from the next start (unless payloadEncryption.keyId names another)`);
  } catch (err) {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  }
}
