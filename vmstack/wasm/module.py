"""The decoded form of a WebAssembly module: plain data, produced once by the
binary decoder and consumed by the validator, the interpreter, the compiled
tier and the embedding API.

Conventions shared by every part of ``vmstack.wasm``:

* Value types are the strings ``'i32' 'i64' 'f32' 'f64' 'v128' 'funcref'
  'externref'``.
* Values at run time: i32/i64 are Python ints in unsigned canonical form
  (``0 <= v < 2**32`` / ``2**64``); f32/f64 are Python floats (an f32 always
  holds a value exactly representable in binary32; f32 NaNs keep their 23-bit
  payload in the top bits of the double's payload, see ``numeric``); v128 is a
  Python int ``0 <= v < 2**128`` (lane 0 in the low bits); references are
  ``None`` for null, otherwise a function instance or an ``ExternRef``.
* An instruction is a tuple ``(name, *immediates)`` where ``name`` is the
  text-format mnemonic (``'i32.add'``, ``'br_table'``, ``'v128.load8_lane'``).
  Immediates, per ``opcodes.IMMEDIATES``:
    - blocktype: ``None`` (empty), a value type string, or an int type index
    - labels / indices: ints; ``br_table`` has ``(labels_tuple, default)``
    - memarg: ``align`` (log2 as encoded), ``offset``
    - lane: int; ``i8x16.shuffle``: tuple of 16 ints
    - i32/i64 const: unsigned canonical int; f32/f64 const: float
      (f32 NaN payloads kept as above); v128.const: int
    - ``select`` with types: a tuple of value types (``None`` for plain select)
    - ``ref.null``: the reference type string
  Structured instructions stay flat, exactly as in the binary: ``block``,
  ``loop``, ``if`` open, ``else`` separates, ``end`` closes (the function
  body's last instruction is its final ``end``).
"""

from __future__ import annotations

from ..records import field, record

I32, I64, F32, F64, V128 = "i32", "i64", "f32", "f64", "v128"
FUNCREF, EXTERNREF = "funcref", "externref"
NUM_TYPES = (I32, I64, F32, F64)
REF_TYPES = (FUNCREF, EXTERNREF)
VAL_TYPES = (I32, I64, F32, F64, V128, FUNCREF, EXTERNREF)

PAGE_SIZE = 65536
MAX_PAGES = 65536

Instr = tuple


@record(frozen=True)
class FuncType:
    params: tuple[str, ...]
    results: tuple[str, ...]

    def __str__(self) -> str:
        return f"[{' '.join(self.params)}] -> [{' '.join(self.results)}]"


@record(frozen=True)
class Limits:
    min: int
    max: int | None = None


@record(frozen=True)
class TableType:
    elemtype: str  # 'funcref' or 'externref'
    limits: Limits


@record(frozen=True)
class MemoryType:
    limits: Limits  # in pages


@record(frozen=True)
class GlobalType:
    valtype: str
    mutable: bool


@record
class Import:
    module: str
    name: str
    kind: str  # 'func' | 'table' | 'memory' | 'global'
    desc: int | TableType | MemoryType | GlobalType  # type index for 'func'


@record
class Export:
    name: str
    kind: str  # 'func' | 'table' | 'memory' | 'global'
    index: int


@record
class Global:
    type: GlobalType
    init: list[Instr]  # constant expression, ending with ('end',)


@record
class Func:
    type_index: int
    locals: list[str]  # declared locals only (params come from the type), expanded
    body: list[Instr]  # flat instruction list ending with ('end',)
    offsets: list[int] = field(default_factory=list)  # byte offset of each instruction
    body_offset: int = 0  # byte offset of the function's code entry

    def instruction_count(self) -> int:
        return len(self.body)


@record
class Elem:
    mode: str  # 'active' | 'passive' | 'declarative'
    elemtype: str  # 'funcref' | 'externref'
    init: list[list[Instr]]  # one constant expression per element
    table: int = 0
    offset: list[Instr] | None = None  # constant expression for active segments


@record
class Data:
    mode: str  # 'active' | 'passive'
    init: bytes
    memory: int = 0
    offset: list[Instr] | None = None


@record
class CustomSection:
    name: str
    data: bytes


@record
class Names:
    """The contents of the ``name`` custom section, when present and well formed."""

    module: str | None = None
    funcs: dict[int, str] = field(default_factory=dict)
    locals: dict[int, dict[int, str]] = field(default_factory=dict)


@record
class Module:
    types: list[FuncType] = field(default_factory=list)
    imports: list[Import] = field(default_factory=list)
    funcs: list[Func] = field(default_factory=list)  # defined functions only
    tables: list[TableType] = field(default_factory=list)  # defined only
    memories: list[MemoryType] = field(default_factory=list)  # defined only
    globals: list[Global] = field(default_factory=list)  # defined only
    exports: list[Export] = field(default_factory=list)
    start: int | None = None
    elems: list[Elem] = field(default_factory=list)
    datas: list[Data] = field(default_factory=list)
    data_count: int | None = None
    customs: list[CustomSection] = field(default_factory=list)
    names: Names = field(default_factory=Names)
    source: bytes | None = field(default=None, repr=False)  # the binary it was decoded from

    def imports_of(self, kind: str) -> list[Import]:
        return [imp for imp in self.imports if imp.kind == kind]

    def func_types(self) -> list[FuncType]:
        """Types of every function in the function index space (imports first)."""
        return [self.types[i.desc] for i in self.imports_of("func")] + [
            self.types[f.type_index] for f in self.funcs
        ]

    def func_name(self, index: int) -> str:
        """A readable name for a function index: the name section's, an export's, or func[N]."""
        if index in self.names.funcs:
            return self.names.funcs[index]
        for exp in self.exports:
            if exp.kind == "func" and exp.index == index:
                return exp.name
        return f"func[{index}]"


class ExternRef:
    """A non-null external reference: wraps any host value."""

    __slots__ = ("value",)

    def __init__(self, value: object) -> None:
        self.value = value

    def __eq__(self, other: object) -> bool:
        return isinstance(other, ExternRef) and other.value == self.value

    def __hash__(self) -> int:
        return hash(("externref", self.value))

    def __repr__(self) -> str:
        return f"ExternRef({self.value!r})"
