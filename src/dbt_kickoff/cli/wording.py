"""The command line's words for what the library calls by its Python names, and "did you mean" suggestions.

The library's errors name its parameters (``package_repository_branch``); a person at a shell typed flags
(``--branch``). :func:`in_cli_terms` rewrites a library message at the one place the CLI prints errors.
"""

from __future__ import annotations

import argparse
import difflib
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

# Python parameter -> the flag (or argument) that sets it on the command line
FLAG_FOR_PARAMETER = {
    "package_repository_branch": "--branch",
    "allow_stale_package": "--allow-stale-package",
    "package_location": "PACKAGE_LOCATION",
    "working_dir": "--working-dir",
    "profiles_dir": "--profiles-dir",
    "profile_name": "--profile",
    "source_dataset_name": "--source-dataset-name",
    "dataset_name": "--dataset-name",
    "command_timeout": "--timeout",
    "dbt_version": "--dbt-version",
    "always_build": "--always-build",
    "source_tests_selector": "--source-tests-selector",
    "venv_dir": "--venv-dir",
    "keep_last": "--keep-last",
}
_SWITCH = re.compile(r"\b(" + "|".join(FLAG_FOR_PARAMETER) + r")=True\b")
_NAME = re.compile(r"(?<![\w./-])(" + "|".join(sorted(FLAG_FOR_PARAMETER, key=len, reverse=True)) + r")\b(?![(.=])")
_WHERE = re.compile(r"\b(?:package|get_venv|PackageRunner\.\w+)\(\): ")


def in_cli_terms(message: str) -> str:
    """A library message with Python parameter names replaced by the CLI's flags (``allow_stale_package=True``
    becomes ``--allow-stale-package``) and without the Python function it was raised in."""
    message = _WHERE.sub("", message)
    message = _SWITCH.sub(lambda m: FLAG_FOR_PARAMETER[m.group(1)], message)
    return _NAME.sub(lambda m: FLAG_FOR_PARAMETER[m.group(1)], message)


def closest(word: str, candidates: Iterable[str]) -> str | None:
    """The candidate closest to ``word`` (a typo), or ``None``."""
    found = difflib.get_close_matches(word, list(candidates), n=1, cutoff=0.6)
    return found[0] if found else None


_FLAG = re.compile(r"(?<![\w-])(--?[A-Za-z][\w-]*)")


class KnownParser(argparse.ArgumentParser):
    """An argument parser that remembers its sub-commands (argparse has no public way to list them) and tells
    its flags (from its help), for the "did you mean" hints."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.commands: Mapping[str, argparse.ArgumentParser] = {}

    @property
    def flags(self) -> list[str]:
        """Every flag the parser's help names."""
        return list(dict.fromkeys(_FLAG.findall(self.format_help())))

    def add_subparsers(self, **kwargs: Any) -> Any:
        action = super().add_subparsers(**kwargs)
        self.commands = action.choices  # filled as sub-commands are added
        return action


def _subparsers(parser: argparse.ArgumentParser) -> Mapping[str, argparse.ArgumentParser]:
    return parser.commands if isinstance(parser, KnownParser) else {}


def chosen_parsers(parser: argparse.ArgumentParser, argv: Sequence[str]) -> list[argparse.ArgumentParser]:
    """The parser and the sub-command parsers ``argv`` names (``cloud run`` -> [top, cloud, cloud run])."""
    chain = [parser]
    for word in argv:
        choices = _subparsers(chain[-1])
        if word in choices:
            chain.append(choices[word])
    return chain


def unknown_argument_hints(parser: argparse.ArgumentParser, argv: Sequence[str], unknown: Sequence[str]) -> str:
    """``--destnation (did you mean --destination?)`` for each unrecognized word that is a typo of a flag."""
    chain = chosen_parsers(parser, argv)
    flags = [flag for p in chain if isinstance(p, KnownParser) for flag in p.flags]
    words = []
    for word in unknown:
        match = closest(word.split("=", 1)[0], flags) if word.startswith("-") else None
        words.append(f"{word} (did you mean {match}?)" if match else word)
    return " ".join(words)


def invalid_choice_hint(word: str, choices: Sequence[str], argv: Sequence[str]) -> str:
    """For a word that is none of ``choices``: the close choice, or a choice written elsewhere on the line
    (``dbt-kickoff shop run`` -> ``dbt-kickoff run shop``)."""
    match = closest(word, choices)
    if match:
        return f"did you mean {match!r}?"
    elsewhere = next((w for w in argv if w in choices), None)
    if elsewhere is not None and word in argv:
        words = list(argv)
        i, j = words.index(word), words.index(elsewhere)
        words[i], words[j] = words[j], words[i]
        return f"did you mean 'dbt-kickoff {' '.join(words)}'?"
    return ""
