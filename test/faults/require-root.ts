/**
 * The faults project's setup file: mounting the small tmpfs a peer fills takes root (and the user namespaces of the watch-limit tests are made as root), so without it every
 * file of the suite fails at once with the line that says how to run it, instead of skipping.
 */
if (process.getuid?.() !== 0) {
  throw new Error('The faults suite (test/faults) mounts a tmpfs and lowers limits in user namespaces: it needs root: run `sudo npm run test:faults`.');
}
