/** The snapshot was refused or could not be installed (or put back); the message says what Redis loads now. */
export class RestoreError extends Error {
  override name = 'RestoreError';
}
