/**
 * The faults project's setup file: mounting the small tmpfs a peer fills takes root, and the user
 * namespaces whose inotify limit the watch-limit tests lower are made as root too, so without it every
 * file of the suite fails at once with the line that says how to run it, instead of skipping.
 */
if (process.getuid?.() !== 0) {
  throw new Error('The faults suite (test/faults) mounts a tmpfs and makes user namespaces, so it needs root: run `sudo npm run test:faults`.');
}
