// The azurite package ships JavaScript only; these are the few members of its table and blob servers we use.
declare module 'azurite/dist/src/common/ConfigurationBase' {
  /** The parameters every service's configuration ends with, in Azurite's order (from `ConfigurationBase`). */
  export type ConfigurationTail = [
    debugLogFilePath?: string,
    loose?: boolean,
    skipApiVersionCheck?: boolean,
    cert?: string,
    key?: string,
    pwd?: string,
    oauth?: string,
    disableProductStyleUrl?: boolean,
    isMemoryPersistence?: boolean,
  ];
}

declare module 'azurite/dist/src/common/ServerBase' {
  /** What every Azurite service's server offers. */
  export default abstract class ServerBase {
    start(): Promise<void>;
    close(): Promise<void>;
    clean(): Promise<void>;
    getHttpServerAddress(): string;
  }
}

declare module 'azurite/dist/src/table/TableConfiguration' {
  import type { ConfigurationTail } from 'azurite/dist/src/common/ConfigurationBase';

  export default class TableConfiguration {
    constructor(
      host?: string,
      port?: number,
      keepAliveTimeout?: number,
      metadataDBPath?: string,
      enableDebugLog?: boolean,
      enableAccessLog?: boolean,
      accessLogWriteStream?: NodeJS.WritableStream,
      ...tail: ConfigurationTail
    );
  }
}

declare module 'azurite/dist/src/table/TableServer' {
  import type TableConfiguration from 'azurite/dist/src/table/TableConfiguration';
  import ServerBase from 'azurite/dist/src/common/ServerBase';

  export default class TableServer extends ServerBase {
    constructor(configuration?: TableConfiguration);
  }
}

declare module 'azurite/dist/src/blob/BlobConfiguration' {
  import type { ConfigurationTail } from 'azurite/dist/src/common/ConfigurationBase';

  export interface PersistenceLocation {
    locationId: string;
    locationPath: string;
    maxConcurrency: number;
  }
  export default class BlobConfiguration {
    constructor(
      host?: string,
      port?: number,
      keepAliveTimeout?: number,
      metadataDBPath?: string,
      extentDBPath?: string,
      persistencePathArray?: PersistenceLocation[],
      enableAccessLog?: boolean,
      accessLogWriteStream?: NodeJS.WritableStream,
      enableDebugLog?: boolean,
      ...tail: ConfigurationTail
    );
  }
}

declare module 'azurite/dist/src/blob/BlobServer' {
  import type BlobConfiguration from 'azurite/dist/src/blob/BlobConfiguration';
  import ServerBase from 'azurite/dist/src/common/ServerBase';

  export default class BlobServer extends ServerBase {
    constructor(configuration?: BlobConfiguration);
  }
}
