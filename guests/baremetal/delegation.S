/* Traps and delegation: an ecall from U goes to S when medeleg says so (scause 8, sepc, SPP = U),
 * an ecall from S goes to M (mcause 9, MPP = S), a breakpoint is delegated (stval 0, as QEMU),
 * sret returns to U, and vectored stvec does not apply to exceptions. */
#include "test.h"
TEST_START

main:
        li t0, (1 << 8) | (1 << 3)      # delegate U ecalls and breakpoints to S
        csrw medeleg, t0
        lla t0, s_vector
        ori t0, t0, 1                   # vectored: exceptions still go to the base
        csrw stvec, t0
        ENTER_MODE(0x800, supervisor)

supervisor:
        li s1, 0
        lla t0, user
        csrw sepc, t0
        li t0, MSTATUS_SPP
        csrc sstatus, t0
        sret

user:
        ebreak
        ecall
1:      j 1b

.align 4
s_vector:
        csrr t0, scause
        li t1, 3
        beq t0, t1, s_breakpoint
        CHECK(1, t0, 8)
        csrr t0, sstatus                # SPP = U
        andi t0, t0, MSTATUS_SPP
        CHECK(2, t0, 0)
        CHECK(3, s1, 1)                 # the breakpoint came first
        ecall                           # to M-mode: S ecalls are not delegated
1:      j 1b

s_breakpoint:
        csrr t0, stval
        CHECK(5, t0, 0)
        csrr t1, sepc
        addi s1, s1, 1
        addi t1, t1, 4
        csrw sepc, t1
        sret

trap_vector:
        csrr t0, mcause
        CHECK(6, t0, 9)
        csrr t0, mstatus
        li t1, MSTATUS_MPP
        and t0, t0, t1
        CHECK(7, t0, 0x800)
        PASS

TEST_DATA
