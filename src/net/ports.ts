import { createServer } from 'node:net';
import { createSocket } from 'node:dgram';
import { errnoCode } from '../errors.js';
import type { NetworkProfile } from '../workspace/config.js';

/** A TCP port that is free on host right now (the kernel picks it). */
export function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, host, () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address !== null ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

/** Whether port can be bound on host; false when something else holds it. */
export function isPortFree(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', (error) => {
      const code = errnoCode(error);
      if (code === 'EADDRINUSE' || code === 'EACCES') resolve(false);
      else reject(error);
    });
    server.listen(port, host, () => server.close(() => resolve(true)));
  });
}

export function portOf(address: string): number {
  return Number(address.slice(address.lastIndexOf(':') + 1));
}

/** Syncthing's default sync port (TCP and QUIC). */
export const SYNCTHING_PORT = 22000;

/**
 * Whether Syncthing could listen on `port` in this profile: on 127.0.0.1 for loopback; for the others
 * on every interface, over TCP and, for QUIC, UDP.
 */
export async function isListenPortFree(port: number, network: NetworkProfile): Promise<boolean> {
  if (network === 'loopback') return isPortFree(port);
  return (await isPortFree(port, '0.0.0.0')) && (await isUdpPortFree(port, '0.0.0.0'));
}

/** A port free for Syncthing's listeners in this profile. */
export async function freeListenPort(network: NetworkProfile): Promise<number> {
  for (;;) {
    const port = await freePort(network === 'loopback' ? '127.0.0.1' : '0.0.0.0');
    if (await isListenPortFree(port, network)) return port;
  }
}

function isUdpPortFree(port: number, host: string): Promise<boolean> {
  return new Promise((resolve, reject) => {
    const socket = createSocket('udp4');
    socket.once('error', (error) => {
      socket.close();
      const code = errnoCode(error);
      if (code === 'EADDRINUSE' || code === 'EACCES') resolve(false);
      else reject(error);
    });
    socket.bind(port, host, () => socket.close(() => resolve(true)));
  });
}
