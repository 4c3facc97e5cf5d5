/**
 * What a command reports back when it ran to its end. Only main.ts turns it into an exit status (`failed` is 1);
 * everything else — usage errors, lock, not configured, signals — is thrown as an AppError.
 */
export type Outcome = 'ok' | 'failed';
