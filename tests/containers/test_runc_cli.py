"""vmstack-runc's own option parser, on command lines as container engines and runc's suite write them."""

from __future__ import annotations

import pytest

from vmstack.containers.runc_cli import Parser, Usage, _parser


def exec_parser() -> Parser:
    p = _parser("exec")
    p.add_argument("--env", "-e", action="append")
    p.add_argument("--tty", "-t", action="store_true")
    p.add_argument("--preserve-fds", type=int, default=0)
    p.add_argument("id")
    p.add_argument("command", nargs=Parser.REMAINDER)
    return p


def test_flags_before_the_command_and_the_command_as_given() -> None:
    args = exec_parser().parse_args(["-e", "A=1", "--env=B=2", "-t", "--preserve-fds=2", "ct", "sh", "-c", "--tty"])
    assert (args.env, args.tty, args.preserve_fds, args.id) == (["A=1", "B=2"], True, 2, "ct")
    assert args.command == ["sh", "-c", "--tty"]
    assert exec_parser().parse_args(["ct", "--", "ls", "-l"]).command == ["ls", "-l"]


def test_flags_between_arguments_and_optional_ones() -> None:
    p = _parser("kill")
    p.add_argument("--all", "-a", action="store_true")
    p.add_argument("id")
    p.add_argument("signal", nargs="?", default="SIGTERM")
    assert vars(p.parse_args(["ct", "--all"])) == {"help": False, "all": True, "id": "ct", "signal": "SIGTERM"}
    assert p.parse_args(["ct", "KILL"]).signal == "KILL"


@pytest.mark.parametrize("argv, message", [
    ([], "missing argument <id>"), (["--nope", "ct"], "flag provided but not defined: --nope"),
    (["--preserve-fds"], "flag needs an argument: --preserve-fds"),
    (["--preserve-fds", "x", "ct"], "invalid value 'x' for flag --preserve-fds"),
])
def test_wrong_use_is_a_usage_error(argv: list[str], message: str) -> None:
    with pytest.raises(Usage, match=message):
        exec_parser().parse_args(argv)


def test_choices_and_extra_arguments() -> None:
    p = _parser("list")
    p.add_argument("--format", "-f", default="table", choices=["table", "json"])
    assert p.parse_args(["-f", "json"]).format == "json"
    with pytest.raises(Usage, match="invalid value 'yaml'"):
        p.parse_args(["--format", "yaml"])
    with pytest.raises(Usage, match="unexpected arguments: extra"):
        p.parse_args(["extra"])
