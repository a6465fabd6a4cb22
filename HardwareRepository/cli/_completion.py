"""``hwr completion bash|zsh``: a shell completion script for ``hwr``.

The script completes sub-commands and options from the parser itself, and
object names by asking ``hwr list --names`` (which reads file names only,
without loading anything) for the configuration on the command line.
"""

from __future__ import annotations

import argparse
import re
from typing import Any

__all__ = ["completion_script", "register"]

_BASH = """\
# hwr completion for bash: eval "$(hwr completion bash)"
_hwr_complete() {
    local cur="${COMP_WORDS[COMP_CWORD]}" words="" i config="" command=""
    for ((i = 1; i < COMP_CWORD; i++)); do
        case "${COMP_WORDS[i]}" in
            --config) config="--config ${COMP_WORDS[i+1]}"; ((i++)) ;;
            --connect-timeout|--log-level) ((i++)) ;;
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


def completion_script(
    parser: argparse.ArgumentParser,
    commands: dict[str, argparse.ArgumentParser],
    shell: str,
) -> str:
    """Return the completion script for ``shell`` (bash or zsh).

    Args:
        parser: the ``hwr`` parser (its options are completed first).
        commands: the sub-command parsers by name.
        shell: ``"bash"`` or ``"zsh"``.
    """
    cases = "\n".join(
        f'            {name}) words="{" ".join(_words_of(sub))}" ;;'
        for name, sub in sorted(commands.items())
    )
    script = _BASH % {
        "commands": " ".join(sorted(commands)),
        "options": " ".join(_options_of(parser)),
        "cases": cases,
    }
    return (_ZSH + script) if shell == "zsh" else script


_OPTION = re.compile(r"(?<![\w-])(--?[a-zA-Z][\w-]*)")
_CHOICES = re.compile(r"\{([\w,-]+)\}")


def _options_of(parser: argparse.ArgumentParser) -> list[str]:
    """Return the option strings of ``parser``, read from its usage line."""
    return list(dict.fromkeys(_OPTION.findall(parser.format_usage())))


def _words_of(parser: argparse.ArgumentParser) -> list[str]:
    """Return the options and the fixed choices (``{bash,zsh}``) of ``parser``."""
    usage = parser.format_usage()
    choices = [word for group in _CHOICES.findall(usage) for word in group.split(",")]
    return [*_options_of(parser), *dict.fromkeys(choices)]


def cmd_completion(args: argparse.Namespace) -> int:
    """Print the completion script for the shell asked for."""
    print(completion_script(args.parser, args.commands, args.shell), end="")
    return 0
