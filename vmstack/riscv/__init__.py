"""The RISC-V CPU core: guest memory, decoding, the RV64GC user ISA and its block translator."""
