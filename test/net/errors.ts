/** A step of building, probing or removing the simulated internet failed; command says which. */
export class NetHarnessError extends Error {
  constructor(
    message: string,
    readonly command?: string,
  ) {
    super(message);
    this.name = 'NetHarnessError';
  }
}

/** The network suite was started without the privileges namespaces need. */
export class NotRootError extends NetHarnessError {
  constructor() {
    super('The network suite (test/net) needs root to create network namespaces: run `sudo npm run test:net`.');
    this.name = 'NotRootError';
  }
}

export function requireRoot(): void {
  if (process.getuid?.() !== 0) throw new NotRootError();
}
