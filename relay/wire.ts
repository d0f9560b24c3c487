/**
 * The relay's wire types: the only code the relay and the botsync client share. Plain types and
 * constants, no runtime dependencies on either side.
 */

export const RELAY_PROTOCOL_VERSION = 1;

export type RelayErrorCode = 'not_found';

export interface RelayErrorBody {
  error: { code: RelayErrorCode; message: string };
}

export interface RelayHealth {
  ok: true;
  service: 'botsync-relay';
  protocol: number;
}
