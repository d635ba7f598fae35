/* Q5: a U-mode program tries the privileged instructions and CSRs; each must trap to M-mode as an
 * illegal instruction (mcause 2, mtval = the instruction's bits), and M-mode skips it and goes on. */
#include "test.h"
TEST_START

main:
        li s0, 0                        # illegal-instruction traps seen
        li t0, MSTATUS_TW
        csrs mstatus, t0                # wfi with TW set
        ENTER_MODE(0, user)

user:
        mret
        sret
        csrw satp, zero
        csrr a1, mstatus
        wfi
        sfence.vma
        csrr a1, sstatus
        ecall                           # done: ask M-mode to check the count
1:      j 1b

trap_vector:
        csrr t0, mcause
        li t1, 8                        # ecall from U-mode
        beq t0, t1, finish
        li TESTNUM, 1
        li t1, 2
        bne t0, t1, fail
        li TESTNUM, 2                   # the mode the trap came from must be U
        csrr t0, mstatus
        li t1, MSTATUS_MPP
        and t0, t0, t1
        bnez t0, fail
        li TESTNUM, 3                   # mtval holds the instruction bits
        csrr t0, mtval
        csrr t1, mepc
        lwu t2, 0(t1)
        bne t0, t2, fail
        addi s0, s0, 1
        addi t1, t1, 4
        csrw mepc, t1
        mret

finish:
        CHECK(4, s0, 7)
        PASS

TEST_DATA
