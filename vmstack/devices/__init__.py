"""Devices of the system VMs: guest RAM and MMIO devices behind a bus, raising interrupt lines.

Devices never know which CPU drives them: they see register reads and writes at offsets, guest RAM for
DMA, and callables (interrupt lines, output sinks) handed to them by the board.
"""
