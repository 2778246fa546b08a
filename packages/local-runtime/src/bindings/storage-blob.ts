/**
 * The `blob` output binding (`output.storageBlob({ path, connection })`) on `@azure/storage-blob`: the value is
 * written as a block blob at `path` (binding expressions expanded), creating the container when it is missing,
 * as the Storage extension does. `connection` names the setting holding a connection string (default
 * `AzureWebJobsStorage`; the host also tries `AzureWebJobs<connection>`).
 */
import { BlobServiceClient } from '@azure/storage-blob';
import type { RegisteredBinding } from '../host/rpc-types';
import type { AppSettings } from './binding-values';
import { BindingError, expandPath, stringOption } from './binding-values';

export const BLOB_BINDING_TYPE = 'blob';
const DEFAULT_CONNECTION = 'AzureWebJobsStorage';

function connectionString(settings: AppSettings, name: string): string {
  const value = settings[name] ?? settings[`AzureWebJobs${name}`];
  if (value === undefined || value.trim() === '') {
    throw new BindingError(
      `Storage account connection string '${name}' does not exist. Make sure that it is a defined App Setting.`,
    );
  }
  return value;
}

export class StorageBlobOutput {
  private readonly services = new Map<string, BlobServiceClient>();

  constructor(private readonly settings: () => AppSettings) {}

  private service(connection: string): BlobServiceClient {
    let client = this.services.get(connection);
    if (!client) {
      try {
        client = BlobServiceClient.fromConnectionString(connection);
      } catch {
        // The SDK's message would quote the connection string, key included.
        throw new BindingError('The storage connection string is not valid.');
      }
      this.services.set(connection, client);
    }
    return client;
  }

  async write(
    bindingName: string,
    binding: RegisteredBinding,
    content: Buffer,
    bindingData: Readonly<Record<string, unknown>>,
    now: Date,
  ): Promise<void> {
    const settings = this.settings();
    const template = stringOption(binding, 'path', settings);
    if (template === undefined) {
      throw new BindingError(`The blob output '${bindingName}' has no path.`);
    }
    const blobPath = expandPath(template, bindingData, now);
    const slash = blobPath.indexOf('/');
    const containerName = slash < 0 ? '' : blobPath.slice(0, slash);
    const blobName = slash < 0 ? '' : blobPath.slice(slash + 1);
    if (containerName === '' || blobName === '') {
      throw new BindingError(
        `The blob output '${bindingName}' path must be 'container/blob', not '${blobPath}'.`,
      );
    }
    const connection = connectionString(
      settings,
      stringOption(binding, 'connection', settings) ?? DEFAULT_CONNECTION,
    );
    const container = this.service(connection).getContainerClient(containerName);
    try {
      await container.createIfNotExists();
      await container.getBlockBlobClient(blobName).upload(content, content.length);
    } catch (error) {
      const status = (error as { statusCode?: unknown } | null)?.statusCode;
      throw new BindingError(
        `The blob output '${bindingName}' could not write '${blobPath}'` +
          (typeof status === 'number' ? ` (HTTP ${status}).` : '.'),
      );
    }
  }
}
