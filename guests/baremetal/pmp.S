/* PMP: entry 0 (NAPOT) makes a 4 KiB page readable only; entry 2 (NAPOT, all) opens the rest to U-mode.
 * A U-mode load of the page works, a store faults (mcause 7, mtval = address), and without any
 * matching entry a U-mode access is denied (mcause 5); M-mode ignores unlocked entries. */
#include "test.h"
TEST_START

main:
        lla t0, guarded
        srli t0, t0, 2
        ori t0, t0, (4096 >> 3) - 1     # NAPOT 4 KiB
        csrw pmpaddr0, t0
        li t0, -1
        csrw pmpaddr2, t0               # NAPOT: the whole address space
        li t0, (0x1f << 16) | 0x19      # entry 0: NAPOT R; entry 2: NAPOT RWX (the first match wins)
        csrw pmpcfg0, t0
        lla t1, guarded
        sd zero, 0(t1)                  # M-mode: unlocked entries do not apply
        li s0, 0
        ENTER_MODE(0, user)

user:
        lla t1, guarded
        ld t2, 0(t1)
        CHECK(1, s0, 0)
        sd t2, 0(t1)
        CHECK(2, s0, 7)
        ecall

trap_vector:
        csrr s0, mcause
        li t0, 8
        beq s0, t0, phase2
        csrr t0, mtval
        li TESTNUM, 3
        bne t0, t1, fail
        csrr t0, mepc
        addi t0, t0, 4
        csrw mepc, t0
        mret

phase2: csrw pmpcfg0, zero              # no entries match: U-mode is denied everything
        li t0, 0x19
        csrw pmpcfg0, t0                # only entry 0 (the guarded page, read-only)
        lla t0, trap2
        csrw mtvec, t0
        ENTER_MODE(0, user2)
user2:  lla t1, guarded + 4096
        ld t2, 0(t1)
1:      j 1b
trap2:  csrr t0, mcause
        CHECK(4, t0, 1)                 # the fetch of user2 itself is denied first
        PASS

        .data
        .align 12
guarded: .zero 4096
TEST_DATA
