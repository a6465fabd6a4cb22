"""``hwr completion bash|zsh``: a shell completion script for ``hwr``.

The script completes sub-commands and options from the parser itself, and
object names by asking ``hwr list --names`` (which reads file names only,
without loading anything) for the configuration on the command line.
"""

from __future__ import annotations

import argparse
from typing import Any

__all__ = ["completion_script", "register"]

_BASH = """\
# hwr completion for bash: eval "$(hwr completion bash)"
_hwr_complete() {
    local cur="${COMP_WORDS[COMP_CWORD]}" words="" i config="" command=""
    for ((i = 1; i < COMP_CWORD; i++)); do
        case "${COMP_WORDS[i]}" in
            --config) config="--config ${COMP_WORDS[i+1]}"; ((i++)) ;;
            -*) ;;
            *) [ -z "$command" ] && command="${COMP_WORDS[i]}" ;;
        esac
    done
    if [ -z "$command" ]; then
        words="%(commands)s %(options)s"
    else
        case "$command" in
%(cases)s
        esac
        case "$command" in
            get|set|call|monitor|mv|list)
                [[ "$cur" != -* ]] &&
                    words="$words $(hwr $config list --names 2>/dev/null)" ;;
        esac
    fi
    COMPREPLY=($(compgen -W "$words" -- "$cur"))
}
complete -o default -F _hwr_complete hwr
"""

_ZSH = """\
# hwr completion for zsh: eval "$(hwr completion zsh)"
autoload -U bashcompinit && bashcompinit
"""


def register(sub: Any) -> None:
    """Add ``completion`` to the ``hwr`` sub-command parsers."""
    completion = sub.add_parser(
        "completion",
        help="print a shell completion script",
        description='Print a completion script: eval "$(hwr completion bash)" '
        "in ~/.bashrc (or zsh in ~/.zshrc).",
    )
    completion.add_argument("shell", choices=["bash", "zsh"])
    completion.set_defaults(run=cmd_completion)


def completion_script(parser: argparse.ArgumentParser, shell: str) -> str:
    """Return the completion script of ``parser`` for ``shell`` (bash or zsh)."""
    commands: dict[str, argparse.ArgumentParser] = {}
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            commands = dict(action.choices)
    options = [o for a in parser._actions for o in a.option_strings]
    cases = "\n".join(
        f'            {name}) words="{" ".join(_options_of(sub))}" ;;'
        for name, sub in sorted(commands.items())
    )
    script = _BASH % {
        "commands": " ".join(sorted(commands)),
        "options": " ".join(options),
        "cases": cases,
    }
    return (_ZSH + script) if shell == "zsh" else script


def _options_of(parser: argparse.ArgumentParser) -> list[str]:
    words = [o for a in parser._actions for o in a.option_strings]
    for action in parser._actions:
        if action.choices and not action.option_strings:
            words += [str(c) for c in action.choices]
    return words


def cmd_completion(args: argparse.Namespace) -> int:
    """Print the completion script for the shell asked for."""
    print(completion_script(args.parser, args.shell), end="")
    return 0
