import { describe, expect, it } from 'vitest';
import { applyChanges, type BackupSettings } from '../../src/backup/settings.js';

const RECIPIENT = 'age1ql3z7hjy54pw3hyww5ayyfg7zqgvc7w3j2elw8zmrj2kg5sfn9aqmcac8p';

const current: BackupSettings = {
  remote: ':local:/backups',
  encryption: { type: 'x25519', recipient: RECIPIENT },
  exclude: ['*.bin'],
  retention: { daily: 7, within: '1y' },
  interval: '24h',
  includeState: true,
};

describe('backup config changes only the options given', () => {
  it('keeps everything not named', () => {
    expect(applyChanges(current, { retention: {} })).toEqual(current);
    expect(applyChanges(current, { remote: 'drive:elsewhere', retention: { last: 3 } })).toEqual({ ...current, remote: 'drive:elsewhere', retention: { daily: 7, within: '1y', last: 3 } });
  });

  it('turns things off by name: a count of 0, within off, interval off, no excludes, no state', () => {
    expect(applyChanges(current, { retention: { daily: 0, within: 'off' }, interval: 'off', exclude: false, includeState: false })).toEqual({
      ...current,
      retention: {},
      interval: null,
      exclude: [],
      includeState: false,
    });
  });

  it('switches the encryption when one is named, and refuses both', () => {
    expect(applyChanges(current, { passphraseEnv: 'BK_PASS', retention: {} }).encryption).toEqual({ type: 'scrypt', passphraseEnv: 'BK_PASS' });
    expect(() => applyChanges(current, { passphraseEnv: 'BK_PASS', recipient: RECIPIENT, retention: {} })).toThrow(/not both/);
  });

  it('needs a remote and an encryption the first time, and checks what it is given', () => {
    expect(() => applyChanges(undefined, { retention: { last: 1 } })).toThrow(/--remote is needed/);
    expect(() => applyChanges(undefined, { remote: ':local:/x', retention: {} })).toThrow(/Choose one of --recipient and --passphrase-env/);
    expect(applyChanges(undefined, { remote: ':local:/x', recipient: RECIPIENT, retention: {} })).toEqual({
      remote: ':local:/x',
      encryption: { type: 'x25519', recipient: RECIPIENT },
      exclude: [],
      retention: {},
      interval: null,
      includeState: false,
    });
    for (const changes of [{ interval: 'daily' }, { remote: 'no-colon' }, { passphraseEnv: 'not a name' }]) {
      let caught: unknown;
      try {
        applyChanges(current, { ...changes, retention: {} });
      } catch (error) {
        caught = error;
      }
      expect(caught, JSON.stringify(changes)).toMatchObject({ code: 'BAD_INPUT', hint: expect.any(String) });
    }
  });
});
