/**
 * The one error base class. `code` is machine-readable and stable (`ETL_ERR_*`), so callers branch on codes,
 * never on message text; `exitCode` is what the CLI exits with when the error reaches it.
 */
export class LoginEtlError extends Error {
  override name = 'LoginEtlError';
  readonly exitCode: number = 1;
  constructor(
    readonly code: string,
    message: string,
    options?: ErrorOptions,
  ) {
    super(message, options);
  }
}
