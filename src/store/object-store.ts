// The S3-compatible object store behind backups: a thin layer over @aws-sdk/client-s3 that turns its
// errors into messages naming the bucket and key.
import { createHash } from 'node:crypto';
import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { readEnvFile, type StorageConfig } from '../config/worker-config.js';

/** An object larger than its reader allows (see ObjectStore.get's maxBytes). */
export class ObjectTooLargeError extends Error {
  override name = 'ObjectTooLargeError';
}

export class ObjectStore {
  readonly client: S3Client;

  constructor(config: StorageConfig) {
    const file = config.credentialsFile ? readEnvFile(config.credentialsFile) : undefined;
    this.client = new S3Client({
      region: config.region,
      forcePathStyle: config.forcePathStyle,
      ...(config.endpoint ? { endpoint: config.endpoint } : {}),
      ...(file?.AWS_ACCESS_KEY_ID && file.AWS_SECRET_ACCESS_KEY
        ? { credentials: { accessKeyId: file.AWS_ACCESS_KEY_ID, secretAccessKey: file.AWS_SECRET_ACCESS_KEY } }
        : {}),
      maxAttempts: 5,
      // Without these the SDK waits forever on a store that accepted the connection and went silent.
      requestHandler: { connectionTimeout: 5_000, requestTimeout: 30_000 },
    });
  }

  async headBucket(bucket: string): Promise<void> {
    await this.client.send(new HeadBucketCommand({ Bucket: bucket }));
  }

  async put(bucket: string, key: string, body: Buffer, contentType = 'application/octet-stream'): Promise<{ size: number; sha256: string }> {
    await this.client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ContentType: contentType }));
    return { size: body.length, sha256: sha256(body) };
  }

  /** Writes only if the key does not exist yet, so a finished backup is never overwritten. */
  async putIfAbsent(bucket: string, key: string, body: Buffer, contentType = 'application/json'): Promise<boolean> {
    try {
      await this.client.send(new PutObjectCommand({ Bucket: bucket, Key: key, Body: body, ContentType: contentType, IfNoneMatch: '*' }));
      return true;
    } catch (err) {
      if (httpStatus(err) === 412) return false;
      throw err;
    }
  }

  /**
   * The object's bytes, or undefined when there is none. With `maxBytes`, an object larger than that is
   * refused before its body is read (a tampered or runaway object never fills the worker's memory).
   */
  async get(bucket: string, key: string, { maxBytes }: { maxBytes?: number } = {}): Promise<Buffer | undefined> {
    try {
      const out = await this.client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
      if (maxBytes !== undefined && (out.ContentLength ?? 0) > maxBytes) {
        (out.Body as { destroy?: () => void } | undefined)?.destroy?.();
        throw new ObjectTooLargeError(`s3://${bucket}/${key} holds ${out.ContentLength} bytes, more than the ${maxBytes} expected`);
      }
      const data = Buffer.from(await out.Body!.transformToByteArray());
      if (maxBytes !== undefined && data.length > maxBytes) throw new ObjectTooLargeError(`s3://${bucket}/${key} holds ${data.length} bytes, more than the ${maxBytes} expected`);
      return data;
    } catch (err) {
      if (httpStatus(err) === 404 || (err as { name?: string }).name === 'NoSuchKey') return undefined;
      throw err;
    }
  }

  async exists(bucket: string, key: string): Promise<boolean> {
    try {
      await this.client.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
      return true;
    } catch (err) {
      if (httpStatus(err) === 404) return false;
      throw err;
    }
  }

  /** Every key under a prefix. */
  async list(bucket: string, prefix: string): Promise<string[]> {
    const keys: string[] = [];
    let token: string | undefined;
    do {
      const page = await this.client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, ContinuationToken: token }));
      for (const o of page.Contents ?? []) if (o.Key) keys.push(o.Key);
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    return keys;
  }

  /** The "folders" right under a prefix (keys grouped at the next "/"). */
  async listPrefixes(bucket: string, prefix: string): Promise<string[]> {
    const prefixes: string[] = [];
    let token: string | undefined;
    do {
      const page = await this.client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: prefix, Delimiter: '/', ContinuationToken: token }));
      for (const p of page.CommonPrefixes ?? []) if (p.Prefix) prefixes.push(p.Prefix);
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
    } while (token);
    return prefixes;
  }

  async delete(bucket: string, key: string): Promise<void> {
    await this.client.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));
  }
}

export function sha256(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

export function httpStatus(err: unknown): number | undefined {
  return (err as { $metadata?: { httpStatusCode?: number } })?.$metadata?.httpStatusCode;
}
