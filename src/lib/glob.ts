/**
 * Glob patterns on '/'-separated relative paths: '*' and '?' within a name, '**' across directories.
 * A pattern without a slash matches a name at any depth, as in .gitignore (`*.log` matches
 * `run.log` and `logs/run.log`); one with a slash is anchored at the top (`memory/*.md` matches
 * `memory/day.md`, not `a/memory/day.md`). With `within`, a path under a matching directory matches too.
 */
export function globToRegExp(glob: string, options: { within?: boolean } = {}): RegExp {
  let pattern = '';
  for (let i = 0; i < glob.length; i++) {
    const ch = glob[i]!;
    if (ch === '*' && glob[i + 1] === '*') {
      pattern += '.*';
      i++;
      if (glob[i + 1] === '/') i++;
    } else if (ch === '*') pattern += '[^/]*';
    else if (ch === '?') pattern += '[^/]';
    else pattern += ch.replace(/[.+^${}()|[\]\\]/g, '\\$&');
  }
  const end = options.within === true ? '(/|$)' : '$';
  return new RegExp(glob.includes('/') ? `^${pattern}${end}` : `(^|/)${pattern}${end}`);
}
