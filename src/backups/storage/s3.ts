import type { Readable } from 'node:stream';
import {
  AbortMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListMultipartUploadsCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import type { BackupStorage } from './types.js';

export interface S3StorageSettings {
  bucket: string;
  /** Prepended to every key (`backups/` -> `backups/<tenant>/<file>.zip`). */
  prefix: string;
  /** Any S3-compatible endpoint (MinIO, Ceph...); AWS when omitted. */
  endpoint?: string | undefined;
  region: string;
  forcePathStyle: boolean;
  accessKeyId: string;
  /** Already decrypted by the caller; never logged. */
  secretAccessKey: string;
  /** Multipart part size (S3's minimum is 5 MiB); PART_SIZE when omitted. */
  partSizeBytes?: number | undefined;
}

/**
 * Parts of a multipart upload. Memory held is about PART_SIZE x (QUEUE_SIZE + 1) whatever the
 * archive's size; S3 allows 10,000 parts, so one archive may reach ~160 GiB.
 */
const PART_SIZE = 16 * 1024 * 1024;
const QUEUE_SIZE = 2;

/** Failures of a request are retried by the SDK this many times before the backup fails. */
const MAX_ATTEMPTS = 3;

export function s3BackupStorage(settings: S3StorageSettings): BackupStorage {
  const client = new S3Client({
    region: settings.region,
    endpoint: settings.endpoint,
    forcePathStyle: settings.forcePathStyle,
    credentials: { accessKeyId: settings.accessKeyId, secretAccessKey: settings.secretAccessKey },
    maxAttempts: MAX_ATTEMPTS,
  });
  const Bucket = settings.bucket;
  const keyOf = (key: string) => `${settings.prefix}${key}`;

  /** Multipart uploads of `key` a killed platform never completed nor aborted (they cost storage). */
  async function abortPendingUploads(key: string): Promise<void> {
    const pending = await client.send(new ListMultipartUploadsCommand({ Bucket, Prefix: keyOf(key) }));
    for (const upload of pending.Uploads ?? []) {
      if (upload.Key !== keyOf(key) || !upload.UploadId) continue;
      await client.send(new AbortMultipartUploadCommand({ Bucket, Key: upload.Key, UploadId: upload.UploadId }));
    }
  }

  return {
    kind: 's3',
    async put(key, body) {
      const upload = new Upload({
        client,
        params: { Bucket, Key: keyOf(key), Body: body, ContentType: 'application/zip' },
        partSize: settings.partSizeBytes ?? PART_SIZE,
        queueSize: QUEUE_SIZE,
        leavePartsOnError: false,
      });
      await upload.done();
    },
    async get(key, range) {
      const answer = await client.send(
        new GetObjectCommand({ Bucket, Key: keyOf(key), Range: range ? `bytes=${range.start}-${range.end - 1}` : undefined }),
      );
      if (!answer.Body) throw new Error(`S3 answered no body for ${keyOf(key)}`);
      return answer.Body as Readable;
    },
    async size(key) {
      try {
        const head = await client.send(new HeadObjectCommand({ Bucket, Key: keyOf(key) }));
        return head.ContentLength;
      } catch (error) {
        if ((error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode === 404) return undefined;
        throw error;
      }
    },
    async delete(key) {
      await client.send(new DeleteObjectCommand({ Bucket, Key: keyOf(key) }));
      await abortPendingUploads(key);
    },
    describe: (key) => `s3://${Bucket}/${keyOf(key)}`,
  };
}
