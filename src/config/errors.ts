import { LoginEtlError } from '../errors.js';

/** A fault the user can fix: bad flags, environment or setup. The CLI prints `message` alone and exits 2. */
export class ConfigError extends LoginEtlError {
  override readonly name = 'ConfigError';
  override readonly exitCode = 2;
  constructor(
    message: string,
    /** The setting at fault, e.g. `PII_KEY`, when there is one. */
    readonly setting?: string,
    options?: ErrorOptions & { code?: string },
  ) {
    super(options?.code ?? 'ETL_ERR_CONFIG', message, options);
  }
}
