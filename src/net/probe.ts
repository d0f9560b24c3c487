import { connect } from 'node:tls';
import { deviceIdFromDer } from '../syncthing/certificate-id.js';

/**
 * Which of a peer's direct TCP addresses answer as that peer, within `timeoutMs`: a TLS handshake
 * whose certificate carries the peer's device ID. Syncthing dials every direct address before any
 * relay, each with its own long timeout, so an address that cannot work (the other home's private
 * address, a public one behind a NAT that drops unsolicited packets) costs tens of seconds before
 * the relay is tried. Only botsync's own TCP handshake is spent here; QUIC addresses are not probed.
 */
export async function addressesAnsweringAs(addresses: readonly string[], deviceId: string, timeoutMs: number): Promise<string[]> {
  const tcp = addresses.filter((address) => /^tcp[46]?:\/\//.test(address));
  const answers = await Promise.all(tcp.map((address) => answersAs(address, deviceId, timeoutMs)));
  return tcp.filter((_, index) => answers[index]);
}

function answersAs(address: string, deviceId: string, timeoutMs: number): Promise<boolean> {
  const url = new URL(address.replace(/^tcp[46]?:/, 'tcp:'));
  const host = url.hostname.replace(/^\[|\]$/g, '');
  return new Promise((resolve) => {
    // Syncthing's certificates are self-signed: the device ID is the check, not a CA.
    const socket = connect({ host, port: Number(url.port), rejectUnauthorized: false, ALPNProtocols: ['bep/1.0'], timeout: timeoutMs });
    const finish = (answer: boolean) => {
      socket.destroy();
      resolve(answer);
    };
    socket.once('secureConnect', () => {
      const certificate = socket.getPeerCertificate(true);
      finish(certificate?.raw !== undefined && deviceIdFromDer(certificate.raw) === deviceId);
    });
    // A refused, unreachable or silent address is the answer "no", not a failure of the probe.
    socket.once('error', () => finish(false));
    socket.once('timeout', () => finish(false));
  });
}
