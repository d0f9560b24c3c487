/**
 * FNV-1a, 64 bits: a short stable name per home (its control socket, its service) without loading
 * node:crypto on the CLI's start path. 64 bits, not 32: two homes whose names collide would clear each
 * other's live socket.
 */
export function fnv1a64(text: string): string {
  let hash = 0xcbf29ce484222325n;
  for (const byte of Buffer.from(text)) hash = BigInt.asUintN(64, (hash ^ BigInt(byte)) * 0x100000001b3n);
  return hash.toString(16).padStart(16, '0');
}
