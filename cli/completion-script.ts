/**
 * The completion scripts `botsync completion SHELL` prints. Apart from cli/completion.ts, which
 * answers them, so that the program's definition (main.ts) loads none of what answering needs.
 */

export const SHELLS = ['bash', 'zsh', 'fish'] as const;
export type Shell = (typeof SHELLS)[number];

/** The hidden command the scripts call on each Tab. */
export const COMPLETE_COMMAND = '__complete';

/** The script that wires `botsync __complete` into the shell. */
export function completionScript(shell: Shell): string {
  switch (shell) {
    case 'bash':
      return `# botsync completion for bash. Now: source <(botsync completion bash)
# For good: botsync completion bash > ~/.local/share/bash-completion/completions/botsync
_botsync() {
  local line
  COMPREPLY=()
  while IFS= read -r line; do
    [ -n "$line" ] && COMPREPLY+=("$line")
  done < <(botsync ${COMPLETE_COMMAND} -- "\${COMP_WORDS[@]:1:COMP_CWORD}" 2>/dev/null)
}
complete -o default -F _botsync botsync
`;
    case 'zsh':
      return `#compdef botsync
# botsync completion for zsh. Now: source <(botsync completion zsh)
# For good: botsync completion zsh > "\${fpath[1]}/_botsync"
_botsync() {
  local -a candidates
  candidates=("\${(@f)$(botsync ${COMPLETE_COMMAND} -- "\${(@)words[2,CURRENT]}" 2>/dev/null)}")
  candidates=(\${candidates:#})
  if (( \${#candidates} )); then
    compadd -- "\${candidates[@]}"
  else
    _files
  fi
}
if [ "\${funcstack[1]}" = "_botsync" ]; then
  _botsync "$@"
else
  compdef _botsync botsync
fi
`;
    case 'fish':
      return `# botsync completion for fish. Now: botsync completion fish | source
# For good: botsync completion fish > ~/.config/fish/completions/botsync.fish
function __botsync_complete
    set -l words (commandline -opc)
    set -e words[1]
    set -l candidates (botsync ${COMPLETE_COMMAND} -- $words (commandline -ct) 2>/dev/null)
    if test (count $candidates) -gt 0
        printf '%s\\n' $candidates
    else
        __fish_complete_path (commandline -ct)
    end
end
complete -c botsync -f -a '(__botsync_complete)'
`;
  }
}
