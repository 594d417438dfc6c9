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
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ConfigError, type PayloadEncryptionSettings } from '../config/worker-config.js';

export interface PayloadKeyring {
  /** Keys by id. */
  keys: ReadonlyMap<string, Buffer>;
  /** The id of the key that encrypts. */
  current: string;
  /** Where the keys came from, for error messages (the file's path). */
  source: string;
}

const KEY_ID = /^[A-Za-z0-9._-]{1,64}$/;
const LINE = /^(?:([A-Za-z0-9._-]{1,64})\s*[=\s]\s*)?([0-9a-fA-F]{64})$/;

/** The id a key without a written id gets: the first 16 hex characters of its sha256, never the key itself. */
export function derivedKeyId(key: Buffer): string {
  return createHash('sha256').update(key).digest('hex').slice(0, 16);
}

/** Parses a key file's text; `source` names it in errors. */
export function parseKeyFile(text: string, source: string): Map<string, Buffer> {
  const keys = new Map<string, Buffer>();
  text.split('\n').forEach((raw, index) => {
    const line = raw.replace(/#.*$/, '').trim();
    if (line === '') return;
    const m = LINE.exec(line);
    if (!m) {
      throw new ConfigError(`payload key file ${source}, line ${index + 1}: expected "<key-id>=<64 hex characters>" or 64 hex characters ` +
        `(a key id is 1 to 64 of A-Z a-z 0-9 . _ -; make a key with 'openssl rand -hex 32')`);
    }
    const key = Buffer.from(m[2]!, 'hex');
    const id = m[1] ?? derivedKeyId(key);
    if (keys.has(id)) throw new ConfigError(`payload key file ${source}, line ${index + 1}: key id "${id}" appears twice`);
    keys.set(id, key);
  });
  if (keys.size === 0) throw new ConfigError(`payload key file ${source} holds no key: add a line "<key-id>=<64 hex characters>"`);
  return keys;
}

/** Reads the keys that `payloadEncryption` names; every problem is a ConfigError that says what to fix. */
export function loadPayloadKeyring(settings: PayloadEncryptionSettings): PayloadKeyring {
  const { keyFile } = settings;
  let text: string;
  try {
    text = fs.readFileSync(keyFile, 'utf8');
  } catch (err) {
    const why = (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'does not exist' : `cannot be read (${(err as Error).message})`;
    throw new ConfigError(`payload key file ${keyFile} ${why}: create it with 'npx tsx src/codec/keys.ts add ${keyFile}', ` +
      `or turn payload encryption off by removing payloadEncryption from the config (and KUBEFERRY_PAYLOAD_KEY_FILE from the environment)`);
  }
  const keys = parseKeyFile(text, keyFile);
  const current = settings.keyId ?? [...keys.keys()].at(-1)!;
  if (!keys.has(current)) {
    throw new ConfigError(`payload key "${current}" (payloadEncryption.keyId or KUBEFERRY_PAYLOAD_KEY_ID) is not in ${keyFile}; it holds ${[...keys.keys()].map((k) => `"${k}"`).join(', ')}`);
  }
  return { keys, current, source: keyFile };
}

/**
 * Appends a new random key to a key file (created with mode 600 when missing) and returns its id. The
 * new key is the last one, so it encrypts from the next start on unless keyId names another.
 */
export function addKey(file: string, id = `k${new Date().toISOString().slice(0, 10).replaceAll('-', '')}-${randomBytes(2).toString('hex')}`): string {
  if (!KEY_ID.test(id)) throw new ConfigError(`key id "${id}": use 1 to 64 of A-Z a-z 0-9 . _ -`);
  const existing = fs.existsSync(file) ? parseKeyFile(fs.readFileSync(file, 'utf8'), file) : new Map<string, Buffer>();
  if (existing.has(id)) throw new ConfigError(`payload key file ${file} already holds key id "${id}"`);
  const header = existing.size === 0 && !fs.existsSync(file)
    ? '# kubeferry payload encryption keys: "<key-id>=<64 hex>", one per line; the last one encrypts unless payloadEncryption.keyId names another.\n'
    : '';
  const text = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '';
  const separator = text === '' || text.endsWith('\n') ? '' : '\n';
  fs.appendFileSync(file, `${header}${separator}${id}=${randomBytes(32).toString('hex')}\n`, { mode: 0o600 });
  return id;
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
