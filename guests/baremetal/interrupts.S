/* Interrupts on the virt board: the machine timer (CLINT mtimecmp), a software interrupt (CLINT
 * msip) and an external one (the UART's transmitter-empty interrupt through the PLIC, source 10),
 * each taken in M-mode with mcause = interrupt bit | its number, only once enabled in mie. */
#define VIRT_BOARD
#include "test.h"
#define CLINT 0x2000000
#define PLIC 0xc000000
#define UART 0x10000000
TEST_START

main:
        li s0, 0
        li t0, MSTATUS_MIE
        csrs mstatus, t0
        # software interrupt: pending in mip but masked until mie.MSIE
        li t1, CLINT
        li t0, 1
        sw t0, 0(t1)
        csrr t0, mip
        andi t0, t0, 8
        CHECK(1, t0, 8)
        CHECK(2, s0, 0)
        li t0, 8
        csrs mie, t0
        nop
        CHECK(3, s0, 3)                 # the handler records the cause number
        # timer: with mstatus.MIE off, arm mtimecmp = mtime + 1000, wfi until MTIP, then enable
        li t0, MSTATUS_MIE
        csrc mstatus, t0
        li t1, CLINT + 0xbff8
        ld t0, 0(t1)
        addi t0, t0, 1000
        li t1, CLINT + 0x4000
        sd t0, 0(t1)
        li t0, 0x80
        csrs mie, t0
1:      wfi                             # wakes on a pending enabled interrupt even with MIE off
        csrr t0, mip
        andi t0, t0, 0x80
        beqz t0, 1b
        CHECK(6, s0, 3)
        li t0, MSTATUS_MIE
        csrs mstatus, t0
        nop
        CHECK(7, s0, 7)
        # external: PLIC source 10 priority 1, enabled for context 0 (M), the UART raises THRI
        li t1, PLIC + 40
        li t0, 1
        sw t0, 0(t1)
        li t1, PLIC + 0x2000
        li t0, 1 << 10
        sw t0, 0(t1)
        li t1, PLIC + 0x200000
        sw zero, 0(t1)
        li t0, 0x800
        csrs mie, t0
        li t1, UART + 1
        li t0, 2
        sb t0, 0(t1)
2:      li t0, 11
        bne s0, t0, 2b
        PASS

trap_vector:
        csrr t0, mcause
        bgez t0, fail                   # only interrupts expected
        slli t0, t0, 1
        srli t0, t0, 1
        mv s0, t0
        li t1, 3
        beq t0, t1, software
        li t1, 7
        beq t0, t1, timer
        li t1, 11
        beq t0, t1, external
        FAIL(4)
software:
        li t1, CLINT
        sw zero, 0(t1)
        mret
timer:
        li t0, 0x80
        csrc mie, t0
        mret
external:
        li t1, PLIC + 0x200004
        lw t2, 0(t1)                    # claim
        CHECK(5, t2, 10)
        li t0, UART + 1
        sb zero, 0(t0)                  # the UART stops interrupting
        sw t2, 0(t1)                    # complete
        mret

TEST_DATA
