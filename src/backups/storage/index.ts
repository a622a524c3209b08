import type { BackupConfig } from '../../config/index.js';
import type { SecretBox } from '../../secrets/index.js';
import { localBackupStorage } from './local.js';
import { s3BackupStorage } from './s3.js';
import type { BackupStorage } from './types.js';

export type { BackupStorage } from './types.js';
export { localBackupStorage, s3BackupStorage };

/** A value sealed with the secret box (`v1.<key>.<iv>.<tag>.<ciphertext>`). */
const SEALED = /^v1\.[^.]+\.[^.]+\.[^.]+\.[^.]*$/;

/**
 * The configured storage. The S3 secret key is given sealed (`saasctl secret seal`), so the
 * config file never holds it in the clear; a plain value is accepted from the environment.
 */
export function createBackupStorage(config: BackupConfig['storage'], secretBox: SecretBox): BackupStorage {
  if (config.kind === 'local') return localBackupStorage(config.directory);
  const secretAccessKey = SEALED.test(config.secretAccessKey) ? secretBox.decrypt(config.secretAccessKey) : config.secretAccessKey;
  return s3BackupStorage({ ...config, secretAccessKey });
}
