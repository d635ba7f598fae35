"""The lexical layer of the WebAssembly text format: tokens and S-expressions,
shared by the WAT module parser and the WAST script parser.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .errors import DecodeError


@dataclass(frozen=True)
class Atom:
    """A keyword, identifier, number or reserved token (`kind` 'atom'), or a string (`kind` 'str')."""

    kind: str
    value: str | bytes
    line: int

    def __repr__(self) -> str:
        return repr(self.value)


class SList(list):
    """A parenthesised list, remembering the line where it opens."""

    line: int = 0


_ATOM_CHARS = re.compile(r"[0-9A-Za-z!#$%&'*+\-./:<=>?@\\^_`|~]+")
_SURROGATE = re.compile("[\ud800-\udfff]")  # what undecodable bytes become (surrogateescape)
_ESCAPES = {"n": b"\n", "t": b"\t", "r": b"\r", '"': b'"', "'": b"'", "\\": b"\\"}


def _error(message: str, line: int) -> DecodeError:
    return DecodeError(f"line {line}: {message}")


def _string(text: str, pos: int, line: int) -> tuple[bytes, int]:
    """Parse a string literal starting after its opening quote; returns (bytes, end position)."""
    out = bytearray()
    n = len(text)
    while True:
        if pos >= n:
            raise _error("unclosed string", line)
        ch = text[pos]
        if ch == '"':
            return bytes(out), pos + 1
        if ch == "\n" or ord(ch) < 0x20 or ch == "\x7f":
            raise _error("illegal character in string", line)
        if ch != "\\":
            out += ch.encode("utf-8")
            pos += 1
            continue
        esc = text[pos + 1:pos + 2]
        if esc in _ESCAPES:
            out += _ESCAPES[esc]
            pos += 2
        elif esc == "u":
            m = re.match(r"\{([0-9a-fA-F](?:_?[0-9a-fA-F])*)\}", text[pos + 2:])
            if not m:
                raise _error("malformed unicode escape", line)
            code = int(m.group(1).replace("_", ""), 16)
            if code >= 0x110000 or 0xD800 <= code < 0xE000:
                raise _error("malformed unicode escape", line)
            out += chr(code).encode("utf-8")
            pos += 2 + len(m.group(0))
        elif re.match(r"[0-9a-fA-F]{2}", text[pos + 1:pos + 3]):
            out.append(int(text[pos + 1:pos + 3], 16))
            pos += 3
        else:
            raise _error("illegal escape in string", line)


def tokenize(text: str) -> list:
    """Tokens: '(' and ')' as plain strings, everything else as Atom."""
    bad_char = _SURROGATE.search(text)
    if bad_char:
        raise _error("malformed UTF-8 encoding", text.count("\n", 0, bad_char.start()) + 1)
    tokens: list = []
    pos, line, n = 0, 1, len(text)
    while pos < n:
        ch = text[pos]
        if ch == "\n":
            line += 1
            pos += 1
        elif ch in " \t\r":
            pos += 1
        elif text.startswith(";;", pos):
            end = text.find("\n", pos)
            pos = n if end < 0 else end
        elif text.startswith("(;", pos):
            depth, pos = 1, pos + 2
            while depth:
                if pos >= n:
                    raise _error("unclosed block comment", line)
                if text.startswith("(;", pos):
                    depth, pos = depth + 1, pos + 2
                elif text.startswith(";)", pos):
                    depth, pos = depth - 1, pos + 2
                else:
                    line += text[pos] == "\n"
                    pos += 1
        elif ch == "(":
            tokens.append(("(", line))
            pos += 1
        elif ch == ")":
            tokens.append((")", line))
            pos += 1
        elif ch == '"':
            value, pos = _string(text, pos + 1, line)
            if pos < n and (text[pos] == '"' or _ATOM_CHARS.match(text, pos)):
                raise _error("unknown operator (no space after string)", line)
            tokens.append(Atom("str", value, line))
        else:
            m = _ATOM_CHARS.match(text, pos)
            if not m:
                raise _error(f"unexpected character {ch!r}", line)
            end = m.end()
            if end < n and text[end] == '"':
                raise _error("unknown operator (no space before string)", line)
            if m.group(0) == "$":
                raise _error("empty identifier", line)
            tokens.append(Atom("atom", m.group(0), line))
            pos = end
    return tokens


def parse_sexprs(text: str) -> list:
    """The whole text as a list of S-expressions (SList or Atom)."""
    stack: list[SList] = [SList()]
    for tok in tokenize(text):
        if isinstance(tok, tuple):
            if tok[0] == "(":
                new = SList()
                new.line = tok[1]
                stack[-1].append(new)
                stack.append(new)
            else:
                if len(stack) == 1:
                    raise _error("unexpected ')'", tok[1])
                stack.pop()
        else:
            stack[-1].append(tok)
    if len(stack) != 1:
        raise _error("unclosed '('", stack[-1].line)
    return stack[0]


def head(x: object) -> str | None:
    """The keyword opening a list, e.g. 'module' for (module ...)."""
    if isinstance(x, SList) and x and isinstance(x[0], Atom) and x[0].kind == "atom":
        return x[0].value  # type: ignore[return-value]
    return None


def line_of(x: object) -> int:
    if isinstance(x, Atom):
        return x.line
    return getattr(x, "line", 0)


def error(message: str, where: object) -> DecodeError:
    return _error(message, line_of(where))
