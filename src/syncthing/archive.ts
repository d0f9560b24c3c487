/**
 * Pulls the one executable botsync needs out of a Syncthing release archive. Only that entry is ever
 * written, to a path the caller chooses, so nothing inside the archive decides where bytes land. An
 * archive holding absolute or `..` paths is refused as a whole: no genuine release contains one.
 */
import { createReadStream, createWriteStream, type WriteStream } from 'node:fs';
import { basename } from 'node:path';
import { finished, pipeline } from 'node:stream/promises';
import * as tar from 'tar';
import yauzl from 'yauzl';
import { BotsyncError, isBotsyncError } from '../errors.js';

export type ArchiveFormat = 'tar.gz' | 'zip';

const TAR_FILE_TYPES = new Set(['File', 'OldFile', 'ContiguousFile']);
const S_IFMT = 0o170000;
const S_IFREG = 0o100000;

export function archiveFormat(fileName: string): ArchiveFormat {
  if (/\.(tar\.gz|tgz)$/i.test(fileName)) return 'tar.gz';
  if (/\.zip$/i.test(fileName)) return 'zip';
  throw new BotsyncError('DOWNLOAD_FAILED', `Unsupported Syncthing archive type: ${fileName}.`);
}

/**
 * Writes the regular file `entryPath` from `archive` to `targetPath` (which must not exist yet),
 * streaming, with mode 0600: making it executable is the caller's decision. A failure can leave a
 * partial target behind, so extract into a private temp dir.
 */
export async function extractEntry(
  archive: string,
  format: ArchiveFormat,
  entryPath: string,
  targetPath: string,
): Promise<void> {
  const wanted = normalizeEntryPath(entryPath);
  if (wanted === '' || isUnsafePath(wanted)) {
    throw archiveError(archive, `the requested entry "${entryPath}" is not a safe relative path`);
  }
  try {
    const found = format === 'zip'
      ? await extractFromZip(archive, wanted, targetPath)
      : await extractFromTarGz(archive, wanted, targetPath);
    if (!found) throw archiveError(archive, `it does not contain ${wanted}`);
  } catch (error) {
    if (isBotsyncError(error)) throw error;
    throw archiveError(archive, error instanceof Error ? error.message : String(error), error);
  }
}

async function extractFromTarGz(archive: string, wanted: string, target: string): Promise<boolean> {
  let output: WriteStream | undefined;
  let refusal: string | undefined;
  const parser = new tar.Parser({
    // Without strict, a damaged archive is only a warning and would yield a short file.
    strict: true,
    onReadEntry: (entry) => {
      if (isUnsafePath(entry.path)) {
        refuse(`it contains an unsafe path: ${entry.path}`);
      } else if (normalizeEntryPath(entry.path) === wanted && output === undefined) {
        if (!TAR_FILE_TYPES.has(entry.type)) {
          refuse(`${wanted} is a ${entry.type}, not a regular file`);
        } else {
          output = createWriteStream(target, { flags: 'wx', mode: 0o600 });
          // A stalled writer would otherwise leave the parser waiting for 'drain' forever.
          output.on('error', (error) => parser.abort(error));
          entry.pipe(output);
          return;
        }
      }
      entry.resume();
    },
  });
  const refuse = (reason: string): void => {
    refusal ??= reason;
    // tar decorates the error it is given, so it gets a throwaway one and ours is thrown below.
    parser.abort(new Error(reason));
  };
  const source = createReadStream(archive);
  try {
    await new Promise<void>((resolve, reject) => {
      parser.on('end', resolve);
      parser.on('error', reject);
      source.on('error', reject);
      source.pipe(parser);
    });
  } catch (error) {
    output?.destroy();
    throw refusal === undefined ? error : archiveError(archive, refusal);
  } finally {
    source.destroy();
  }
  if (output === undefined) return false;
  await finished(output);
  return true;
}

function extractFromZip(archive: string, wanted: string, target: string): Promise<boolean> {
  return new Promise((resolve, reject) => {
    // strictFileNames: a backslash name could mean a different path on Windows, so yauzl rejects it;
    // yauzl also rejects absolute and `..` names of every entry it reads.
    yauzl.open(archive, { lazyEntries: true, autoClose: true, strictFileNames: true }, (openError, zip) => {
      if (openError) {
        reject(openError);
        return;
      }
      let found = false;
      const fail = (error: unknown): void => {
        zip.close();
        reject(error);
      };
      zip.on('error', reject);
      zip.on('end', () => resolve(found));
      zip.on('entry', (entry: yauzl.Entry) => {
        if (found || normalizeEntryPath(entry.fileName) !== wanted) {
          // Keep reading to the end so every name in the archive gets validated.
          zip.readEntry();
          return;
        }
        const type = (entry.externalFileAttributes >>> 16) & S_IFMT;
        if (entry.fileName.endsWith('/') || (type !== 0 && type !== S_IFREG)) {
          fail(archiveError(archive, `${wanted} is not a regular file`));
          return;
        }
        zip.openReadStream(entry, (streamError, stream) => {
          if (streamError) {
            fail(streamError);
            return;
          }
          pipeline(stream, createWriteStream(target, { flags: 'wx', mode: 0o600 })).then(() => {
            found = true;
            zip.readEntry();
          }, fail);
        });
      });
      zip.readEntry();
    });
  });
}

function normalizeEntryPath(path: string): string {
  return path.replace(/^(\.\/)+/, '');
}

function isUnsafePath(path: string): boolean {
  return /^([\\/]|[a-zA-Z]:)/.test(path) || path.split(/[\\/]/).includes('..');
}

function archiveError(archive: string, reason: string, cause?: unknown): BotsyncError {
  return new BotsyncError('DOWNLOAD_FAILED', `Cannot use the Syncthing archive ${basename(archive)}: ${reason}.`, {
    hint: 'Install Syncthing with your OS package manager (sudo apt-get install syncthing, brew install syncthing) and pass --syncthing PATH.',
    cause,
  });
}
