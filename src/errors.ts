/**
 * Every failure botsync reports to a user is a BotsyncError: a stable code that scripts can match,
 * one sentence saying what went wrong, and a hint saying what to do about it. The CLI maps the code
 * to an exit status; nothing in src/ prints or exits.
 */

/** Codes whose cause is the user's input: exit status 2. Everything else is a failure: exit status 1. */
const BAD_INPUT_CODES = new Set([
  'USAGE',
  'BAD_INPUT',
  'BAD_DEVICE_ID',
  'NOT_INITIALISED',
  'UNKNOWN_PEER',
  'BAD_CODE',
  'BACKUP_NOT_FOUND',
]);

export type ErrorCode =
  | 'USAGE'
  | 'BAD_INPUT'
  | 'BAD_DEVICE_ID'
  | 'NOT_INITIALISED'
  | 'UNKNOWN_PEER'
  | 'STATE_CORRUPT'
  | 'STATE_IO'
  | 'CONFIG_BUSY'
  | 'SYNCTHING_MISSING'
  | 'SYNCTHING_TOO_OLD'
  | 'SYNCTHING_FAILED'
  | 'SYNCTHING_NOT_RUNNING'
  | 'SYNCTHING_AUTH'
  | 'SYNCTHING_GUI_PORT_TAKEN'
  | 'SYNCTHING_TIMEOUT'
  | 'SYNCTHING_API'
  | 'GUI_NO_LOGIN'
  | 'DEVICE_KEY_LOST'
  | 'UNSUPPORTED_PLATFORM'
  | 'DOWNLOAD_FAILED'
  | 'CHECKSUM_MISMATCH'
  | 'DAEMON_RUNNING'
  | 'DAEMON_NOT_RUNNING'
  | 'DAEMON_UNVERIFIED'
  | 'DAEMON_FAILED'
  | 'CONTROL_SOCKET_UNSAFE'
  | 'CONTROL_SOCKET_PATH_TOO_LONG'
  | 'INTERNAL'
  | 'BAD_CODE'
  | 'PAIRING_WRONG_CODE'
  | 'PAIRING_TAMPERED'
  | 'PAIRING_MALFORMED'
  | 'PAIRING_EXPIRED'
  | 'PAIRING_USED'
  | 'PAIRING_FAILED'
  | 'RELAY_UNREACHABLE'
  | 'RELAY_ERROR'
  | 'NOTIFY_FAILED'
  | 'BACKUP_NOT_CONFIGURED'
  | 'BACKUP_FAILED'
  | 'BACKUP_DECRYPT'
  | 'BACKUP_CORRUPT'
  | 'BACKUP_LOCKED'
  | 'BACKUP_NOT_FOUND'
  | 'RCLONE_MISSING'
  | 'RCLONE_FAILED'
  | 'SERVICE_FAILED'
  | 'STOP_FAILED';

export interface ErrorDetails {
  hint?: string;
  cause?: unknown;
}

export class BotsyncError extends Error {
  readonly code: ErrorCode;
  readonly hint: string | undefined;

  constructor(code: ErrorCode, message: string, details: ErrorDetails = {}) {
    super(message, details.cause === undefined ? undefined : { cause: details.cause });
    this.name = 'BotsyncError';
    this.code = code;
    this.hint = details.hint;
  }

  /** 2 when the user's input was wrong, 1 when something failed. */
  get exitCode(): 1 | 2 {
    return BAD_INPUT_CODES.has(this.code) ? 2 : 1;
  }
}

export function isBotsyncError(error: unknown, code?: ErrorCode): error is BotsyncError {
  return error instanceof BotsyncError && (code === undefined || error.code === code);
}

/** The errno code of a Node system error (ENOENT, EADDRINUSE, ...), or undefined. */
export function errnoCode(error: unknown): string | undefined {
  if (typeof error === 'object' && error !== null && 'code' in error) {
    const code = (error as { code: unknown }).code;
    return typeof code === 'string' ? code : undefined;
  }
  return undefined;
}
