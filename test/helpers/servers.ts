import type { Server } from 'node:http';

/** Closes a test HTTP server now, cutting its open connections (keep-alive ones included). */
export async function closeServer(server: Server): Promise<void> {
  server.closeAllConnections();
  await new Promise<void>((resolve) => server.close(() => resolve()));
}
