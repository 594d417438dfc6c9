// Key files, shared by the payload keys (src/codec/keys.ts) and the backup keys (src/store/archive-crypto.ts):
// one key per line, `<key-id>=<64 hex characters>` (or `<key-id> <hex>`); a line with only the 64 hex
// characters (the form of `openssl rand -hex 32`) gets an id derived from the key. Blank lines and `#`
// comments are ignored. Every key decrypts (its id is stored beside what it encrypted); the last one
// encrypts unless a keyId names another, so rotating is: append a key, restart, keep the old ones.
import { createHash, randomBytes } from 'node:crypto';
import fs from 'node:fs';
import { ConfigError } from './worker-config.js';

export const KEY_ID = /^[A-Za-z0-9._-]{1,64}$/;
const LINE = /^(?:([A-Za-z0-9._-]{1,64})\s*[=\s]\s*)?([0-9a-fA-F]{64})$/;

/** Keys by id, the one that encrypts, and where they came from (the file's path, for messages). */
export interface Keyring {
  keys: ReadonlyMap<string, Buffer>;
  current: string;
  source: string;
}

/** The id a key without a written id gets: the first 16 hex characters of its sha256, never the key itself. */
export function derivedKeyId(key: Buffer): string {
  return createHash('sha256').update(key).digest('hex').slice(0, 16);
}

/** Parses a key file's text; `label` ("payload key file") and `source` (its path) name it in errors. */
export function parseKeyFile(text: string, source: string, label = 'payload key file'): Map<string, Buffer> {
  const keys = new Map<string, Buffer>();
  text.split('\n').forEach((raw, index) => {
    const line = raw.replace(/#.*$/, '').trim();
    if (line === '') return;
    const m = LINE.exec(line);
    if (!m) {
      throw new ConfigError(`${label} ${source}, line ${index + 1}: expected "<key-id>=<64 hex characters>" or 64 hex characters ` +
        `(a key id is 1 to 64 of A-Z a-z 0-9 . _ -; make a key with 'openssl rand -hex 32')`);
    }
    const key = Buffer.from(m[2]!, 'hex');
    const id = m[1] ?? derivedKeyId(key);
    if (keys.has(id)) throw new ConfigError(`${label} ${source}, line ${index + 1}: key id "${id}" appears twice`);
    keys.set(id, key);
  });
  if (keys.size === 0) throw new ConfigError(`${label} ${source} holds no key: add a line "<key-id>=<64 hex characters>"`);
  return keys;
}

/**
 * Reads a key file into a keyring. A file that others than its owner may change is refused (whoever
 * swaps the key decides what the next backup or payload is encrypted with); one that group or others
 * may read is allowed, with `warn` told, because a Kubernetes Secret volume is 0644 unless defaultMode
 * says otherwise.
 */
export function loadKeyring(file: string, label: string, options: {
  /** The key that encrypts (the file's last when undefined), and where that choice was made. */
  keyId?: string | undefined;
  keyIdSetting: string;
  /** What to do when the file is missing. */
  hint: string;
  warn?: (message: string) => void;
}): Keyring {
  const { keyId, keyIdSetting, hint, warn = console.warn } = options;
  let text: string;
  let mode: number;
  try {
    mode = fs.statSync(file).mode;
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    const why = (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'does not exist' : `cannot be read (${(err as Error).message})`;
    throw new ConfigError(`${label} ${file} ${why}: ${hint}`);
  }
  if (mode & 0o022) {
    throw new ConfigError(`${label} ${file} may be changed by ${mode & 0o002 ? 'any user' : 'its group'} (mode ${(mode & 0o777).toString(8)}): ` +
      `run 'chmod 600 ${file}' (in Kubernetes, mount it with defaultMode: 0400)`);
  }
  if (mode & 0o044) warn(`${label} ${file} may be read by ${mode & 0o004 ? 'any user' : 'its group'} (mode ${(mode & 0o777).toString(8)}); run 'chmod 600 ${file}'`);
  const keys = parseKeyFile(text, file, label);
  const current = keyId ?? [...keys.keys()].at(-1)!;
  if (!keys.has(current)) {
    throw new ConfigError(`${label.replace(/ file$/, '')} "${current}" (${keyIdSetting}) is not in ${file}; it holds ${[...keys.keys()].map((k) => `"${k}"`).join(', ')}`);
  }
  return { keys, current, source: file };
}

/** The id (in `a`) of a key that both keyrings hold, byte for byte, whatever its id or file. */
export function sharedKey(a: Keyring, b: Keyring): string | undefined {
  for (const [id, key] of a.keys) if ([...b.keys.values()].some((other) => other.equals(key))) return id;
  return undefined;
}

/**
 * Appends a new random key to a key file (created with mode 600 when missing) and returns its id. The
 * new key is the last one, so it encrypts from the next start on unless a keyId names another.
 */
export function appendKey(file: string, label: string, header: string, id = `k${new Date().toISOString().slice(0, 10).replaceAll('-', '')}-${randomBytes(2).toString('hex')}`): string {
  if (!KEY_ID.test(id)) throw new ConfigError(`key id "${id}": use 1 to 64 of A-Z a-z 0-9 . _ -`);
  const exists = fs.existsSync(file);
  const text = exists ? fs.readFileSync(file, 'utf8') : '';
  const existing = exists ? parseKeyFile(text, file, label) : new Map<string, Buffer>();
  if (existing.has(id)) throw new ConfigError(`${label} ${file} already holds key id "${id}"`);
  const separator = text === '' || text.endsWith('\n') ? '' : '\n';
  fs.appendFileSync(file, `${exists ? '' : header}${separator}${id}=${randomBytes(32).toString('hex')}\n`, { mode: 0o600 });
  return id;
}
