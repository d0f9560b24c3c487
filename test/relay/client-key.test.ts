import { describe, expect, it } from 'vitest';
import { clientKey, UNKNOWN_CLIENT } from '../../relay/client-key.js';

describe('the key a client is limited under', () => {
  it('is the IPv4 address itself, however it is spelled', () => {
    expect(clientKey('198.51.100.7')).toBe('198.51.100.7');
    for (const spelling of [' 198.51.100.7 ', '198.051.100.007', '198.51.100.7:443', '[198.51.100.7]']) {
      expect(clientKey(spelling)).toBe('198.51.100.7');
    }
    expect(clientKey('198.51.100.8')).not.toBe(clientKey('198.51.100.7'));
    expect(clientKey('0.0.0.0')).toBe('0.0.0.0');
    expect(clientKey('255.255.255.255')).toBe('255.255.255.255');
  });

  it('is the same IPv4 address when it comes IPv4-mapped through IPv6', () => {
    for (const mapped of ['::ffff:198.51.100.7', '::FFFF:c633:6407', '0:0:0:0:0:ffff:198.51.100.7', '0000:0000:0000:0000:0000:ffff:c633:6407', '[::ffff:198.51.100.7]:443']) {
      expect(clientKey(mapped)).toBe('198.51.100.7');
    }
    // Only ::ffff:0:0/96 is mapped; the deprecated IPv4-compatible form and NAT64 are IPv6 networks.
    expect(clientKey('::198.51.100.7')).toBe('0:0:0:0::/64');
    expect(clientKey('64:ff9b::198.51.100.7')).toBe('64:ff9b:0:0::/64');
  });

  it('is the /64 of an IPv6 address: every address and spelling in it gives one key, another /64 another', () => {
    const key = '2001:db8:a:b::/64';
    for (const spelling of [
      '2001:db8:a:b::1',
      '2001:0DB8:000A:000B:0000:0000:0000:0001',
      '2001:db8:a:b:ffff:ffff:ffff:ffff',
      '2001:db8:a:b:1:2:3:4',
      '2001:db8:a:b::',
      '2001:db8:a:b:0:0:192.0.2.1',
      '[2001:db8:a:b::1]',
      '[2001:db8:a:b::1]:8443',
      '2001:db8:a:b::1%eth0',
      ' 2001:db8:a:b::1\t',
    ]) {
      expect(clientKey(spelling), spelling).toBe(key);
    }
    expect(clientKey('2001:db8:a:c::1')).toBe('2001:db8:a:c::/64');
    expect(clientKey('2001:db8::1')).toBe('2001:db8:0:0::/64');
    expect(clientKey('::1')).toBe('0:0:0:0::/64');
    expect(clientKey('::')).toBe('0:0:0:0::/64');
    expect(clientKey('fe80::1%eth0')).toBe('fe80:0:0:0::/64');
  });

  it('puts anything that is not one address in one shared bucket, so no odd value gets a bucket of its own', () => {
    for (const odd of [
      null,
      '',
      '   ',
      'unknown',
      'localhost',
      '198.51.100',
      '198.51.100.256',
      '198.51.100.7.1',
      '1234.1.1.1',
      '198.51.100.7, 203.0.113.9',
      '2001:db8::1::2',
      '2001:db8:a:b:c:d:e:f:1',
      '2001:db8:a:b:c:d:e',
      '2001:db8:a:b:c:d:e:f::',
      ':2001:db8::1',
      '2001:db8:::1',
      '12345::1',
      '2001:db8::g',
      '::ffff:198.51.100.256',
      '::198.51.100.7:1',
      '[2001:db8::1',
      '2001:db8::1]',
    ]) {
      expect(clientKey(odd), String(odd)).toBe(UNKNOWN_CLIENT);
    }
  });
});
