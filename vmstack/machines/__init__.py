"""Boards: an emulated RISC-V `virt` board compatible with QEMU's, and Spike's HTIF board for tests."""
