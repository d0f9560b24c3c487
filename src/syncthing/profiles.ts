import type { NetworkProfile } from '../workspace/config.js';

/**
 * Syncthing options per network profile, keyed by their REST names (/rest/config/options), so one
 * table serves both the pre-start config.xml hardening and later changes through the REST API.
 */
export interface ProfileOptions {
  listenAddresses: string[];
  globalAnnounceEnabled: boolean;
  localAnnounceEnabled: boolean;
  relaysEnabled: boolean;
  natEnabled: boolean;
  announceLANAddresses: boolean;
  /** 0 turns STUN off; Syncthing's default starts it after 180 s. */
  stunKeepaliveStartS: number;
}

/** Options botsync sets whatever the profile: it supervises Syncthing, so Syncthing must not upgrade, phone home or open a browser. */
export const HARDENED_OPTIONS = {
  startBrowser: false,
  urAccepted: -1,
  autoUpgradeIntervalH: 0,
  crashReportingEnabled: false,
} as const;

export function profileOptions(profile: NetworkProfile, listenPort: number): ProfileOptions {
  switch (profile) {
    case 'internet':
      return {
        listenAddresses: ['default'],
        globalAnnounceEnabled: true,
        localAnnounceEnabled: true,
        relaysEnabled: true,
        natEnabled: true,
        announceLANAddresses: true,
        stunKeepaliveStartS: 180,
      };
    case 'lan':
      return {
        listenAddresses: ['default'],
        globalAnnounceEnabled: false,
        localAnnounceEnabled: true,
        relaysEnabled: false,
        natEnabled: false,
        announceLANAddresses: true,
        stunKeepaliveStartS: 0,
      };
    case 'loopback':
      return {
        listenAddresses: [`tcp://127.0.0.1:${listenPort}`],
        globalAnnounceEnabled: false,
        localAnnounceEnabled: false,
        relaysEnabled: false,
        natEnabled: false,
        announceLANAddresses: false,
        stunKeepaliveStartS: 0,
      };
  }
}

/** Peer addresses when none is given: discovery where the profile has it; loopback peers need a static one. */
export function defaultPeerAddresses(profile: NetworkProfile): string[] {
  return profile === 'loopback' ? [] : ['dynamic'];
}
