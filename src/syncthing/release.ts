/**
 * The Syncthing release botsync downloads when no usable Syncthing is installed, pinned by version
 * and by the SHA-256 of every archive. A binary whose archive does not match this table is never run.
 */
import { join } from 'node:path';
import { BotsyncError } from '../errors.js';

export type ReleasePlatform = 'linux' | 'macos' | 'windows';
export type ReleaseArch = 'amd64' | 'arm64';

export interface ReleaseAsset {
  /** Archive file name as published on the release page. */
  file: string;
  /** Lower-case hex SHA-256 of the archive. */
  sha256: string;
  /** Path of the executable inside the archive. */
  binaryPath: string;
}

export interface PinnedRelease {
  version: string;
  baseUrl: string;
  assets: Partial<Record<`${ReleasePlatform}-${ReleaseArch}`, ReleaseAsset>>;
}

const VERSION = 'v2.1.3';

function asset(platform: ReleasePlatform, arch: ReleaseArch, sha256: string): ReleaseAsset {
  const stem = `syncthing-${platform}-${arch}-${VERSION}`;
  const exe = platform === 'windows' ? 'syncthing.exe' : 'syncthing';
  return { file: `${stem}.${platform === 'linux' ? 'tar.gz' : 'zip'}`, sha256, binaryPath: `${stem}/${exe}` };
}

/** Checksums from the release's sha256sum.txt.asc, cross-checked against independent pins of the same files. */
export const PINNED_RELEASE: PinnedRelease = {
  version: VERSION,
  baseUrl: 'https://github.com/syncthing/syncthing/releases/download',
  assets: {
    'linux-amd64': asset('linux', 'amd64', 'f929eb8e5b72a85543eeeefb2c38f34a68e0c530e70758a2905b78840c76602c'),
    'linux-arm64': asset('linux', 'arm64', 'a5c046965b590a8de2f8c8c16a0dbf9201d99600b0cafd604040232b603e4586'),
    'macos-amd64': asset('macos', 'amd64', '207557c0f708578375be9a286d13078cd709bfccae43d61d004913bb512b10aa'),
    'macos-arm64': asset('macos', 'arm64', 'e0f0d8df05bf0118c48c6515214a96bf3a3f11dbd115f56c3c0b52251b3f71aa'),
    'windows-amd64': asset('windows', 'amd64', 'c0b79cffa6ce5dad5ed41ede86454f3325d13ccac33447a528cb59d65fbc3a21'),
    'windows-arm64': asset('windows', 'arm64', 'c8a00ff23ce54ca07c5749e40a72c0515150dfcc57f640832fb7eb5d55184675'),
  },
};

/** Where the verified binary of `version` lives once downloaded (download.ts puts it there). */
export function cachedBinaryPath(cacheDir: string, version: string, platform: string = process.platform): string {
  return join(cacheDir, `syncthing-${bareVersion(version)}`, platform === 'win32' ? 'syncthing.exe' : 'syncthing');
}

/** "1.29.7" from "1.29.7" or "v1.29.7"; refuses separators, which would lead out of the cache. */
export function bareVersion(version: string): string {
  const bare = version.replace(/^v/, '');
  if (!/^[\w.+-]+$/.test(bare)) {
    throw new BotsyncError('DOWNLOAD_FAILED', `Invalid pinned Syncthing version "${version}".`);
  }
  return bare;
}
