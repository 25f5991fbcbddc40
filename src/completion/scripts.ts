/**
 * The shell side of completion: a few lines per shell that hand the words typed so far to
 * `tsp11 __complete --` and offer what it prints. Its first line is `:files` (let the shell
 * complete file names) or `:words`, then one candidate per line. Words are passed as
 * separate arguments, never through eval, so nothing typed on the line is ever run.
 */
export const SHELLS = ["bash", "zsh", "fish"] as const;
export type Shell = (typeof SHELLS)[number];

const BASH = `# tsp11 completion for bash (and zsh through bashcompinit):
#   source <(tsp11 completion bash)
_tsp11_complete() {
  local cur=\${COMP_WORDS[COMP_CWORD]} line word
  # bash splits "ec:prime256v1" and "--opt=value" at ':' and '='; tsp11 gets the whole word.
  local typed=\${COMP_LINE:0:COMP_POINT}
  local -a words
  read -r -a words <<< "$typed"
  [[ $typed == *[[:space:]] ]] && words+=("")
  local -a out
  mapfile -t out < <(tsp11 __complete -- "\${words[@]:1}" 2>/dev/null)
  COMPREPLY=()
  if [[ \${out[0]} == ":files" ]]; then
    compopt -o filenames 2>/dev/null
    mapfile -t COMPREPLY < <(compgen -f -- "$cur")
    return
  fi
  local whole=\${words[\${#words[@]}-1]}
  local strip=\${whole:0:\${#whole}-\${#cur}}
  for word in "\${out[@]:1}"; do
    word=\${word#"$strip"}
    COMPREPLY+=("$(printf '%q' "$word")")
  done
}
complete -F _tsp11_complete tsp11
`;

const ZSH = `#compdef tsp11
# tsp11 completion for zsh:  source <(tsp11 completion zsh)
autoload -U +X bashcompinit && bashcompinit
${BASH}`;

const FISH = `# tsp11 completion for fish:  tsp11 completion fish | source
function __tsp11_complete
    set -l words (commandline -opc) (commandline -ct)
    set -l out (tsp11 __complete -- $words[2..-1] 2>/dev/null)
    if test "$out[1]" = ":files"
        __fish_complete_path (commandline -ct)
    else
        printf '%s\\n' $out[2..-1]
    end
end
complete -c tsp11 -f -a '(__tsp11_complete)'
`;

export function completionScript(shell: Shell): string {
  switch (shell) {
    case "bash":
      return BASH;
    case "zsh":
      return ZSH;
    case "fish":
      return FISH;
  }
}
