import type { NetworkProfile } from '../workspace/config.js';

/**
 * Syncthing options per network profile, keyed by their REST names (/rest/config/options), so one
 * table serves both the pre-start config.xml hardening and later changes through the REST API.
 */
export interface ProfileOptions {
  listenAddresses: string[];
  globalAnnounceServers: string[];
  globalAnnounceEnabled: boolean;
  localAnnounceEnabled: boolean;
  relaysEnabled: boolean;
  natEnabled: boolean;
  announceLANAddresses: boolean;
  /** 0 turns STUN off; Syncthing's default starts it after 180 s. */
  stunKeepaliveStartS: number;
}

/** What a home's network is: its profile, its listen port, and self-hosted servers (absent: Syncthing's public ones). */
export interface NetworkSettings {
  network: NetworkProfile;
  listenPort: number;
  /** Global discovery servers (`https://HOST:PORT/?id=ID`). */
  discovery?: string[];
  /** Relays to listen on (`relay://HOST:PORT/?id=ID` or `dynamic+https://POOL/endpoint`). */
  relays?: string[];
}

/** Syncthing's public relay pool, what its `default` listen address includes. */
export const PUBLIC_RELAY_POOL = 'dynamic+https://relays.syncthing.net/endpoint';

/** Options botsync sets whatever the profile: it supervises Syncthing, so Syncthing must not upgrade, phone home or open a browser. */
export const HARDENED_OPTIONS = {
  startBrowser: false,
  urAccepted: -1,
  autoUpgradeIntervalH: 0,
  crashReportingEnabled: false,
} as const;

/**
 * Every profile listens on the home's own port rather than Syncthing's `default` (22000 for all), so
 * two homes on one machine never fight over it and a taken port can be re-picked.
 */
export function profileOptions(settings: NetworkSettings): ProfileOptions {
  const port = settings.listenPort;
  const direct = [`tcp://0.0.0.0:${port}`, `quic://0.0.0.0:${port}`];
  switch (settings.network) {
    case 'internet':
      return {
        listenAddresses: [...direct, ...(settings.relays ?? [PUBLIC_RELAY_POOL])],
        globalAnnounceServers: settings.discovery ?? ['default'],
        globalAnnounceEnabled: true,
        localAnnounceEnabled: true,
        relaysEnabled: true,
        natEnabled: true,
        announceLANAddresses: true,
        stunKeepaliveStartS: 180,
      };
    case 'lan':
      return {
        listenAddresses: direct,
        globalAnnounceServers: ['default'],
        globalAnnounceEnabled: false,
        localAnnounceEnabled: true,
        relaysEnabled: false,
        natEnabled: false,
        announceLANAddresses: true,
        stunKeepaliveStartS: 0,
      };
    case 'loopback':
      return {
        listenAddresses: [`tcp://127.0.0.1:${port}`],
        globalAnnounceServers: ['default'],
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
