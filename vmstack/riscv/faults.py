"""Synchronous exceptions raised while decoding or executing an instruction (besides MemoryFault)."""


class IllegalInstruction(Exception):
    """The bits at pc decode to no instruction, a reserved form, or an access to an absent CSR."""

    def __init__(self, bits: int) -> None:
        super().__init__(f"illegal instruction {bits:#x}")
        self.bits = bits


class MisalignedAccess(Exception):
    """An LR/SC/AMO address not aligned to its width (cause 4: load, 6: store/AMO)."""

    def __init__(self, addr: int, cause: int) -> None:
        super().__init__(f"misaligned atomic access at {addr:#x}")
        self.addr = addr
        self.cause = cause
