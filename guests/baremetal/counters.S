/* mcounteren/scounteren: cycle, time, instret and hpmcounter3 read from S-mode trap as illegal (to M,
 * mtval = the instruction) unless mcounteren allows each; from U-mode both mcounteren and scounteren
 * must; M-mode always reads them. (This trap is what lets firmware such as OpenSBI emulate rdtime.) */
#define VIRT_BOARD
#include "test.h"
TEST_START

main:
        csrw mcounteren, zero
        csrw scounteren, zero
        li s0, 0
        lla s2, 1f
        ENTER_MODE(0x800, probe)
1:      CHECK(1, s0, 4)
        li t0, 0xf
        csrw mcounteren, t0
        li s0, 0
        lla s2, 1f
        ENTER_MODE(0x800, probe)
1:      CHECK(2, s0, 0)
        li s0, 0
        lla s2, 1f
        ENTER_MODE(0, probe)
1:      CHECK(3, s0, 4)
        li t0, 0x5                      # U: cycle and instret only
        csrw scounteren, t0
        li s0, 0
        lla s2, 1f
        ENTER_MODE(0, probe)
1:      CHECK(4, s0, 2)
        li t0, 0xa                      # time and hpmcounter3 for S; U needs both registers' bits
        csrw mcounteren, t0
        li t0, 0xf
        csrw scounteren, t0
        li s0, 0
        lla s2, 1f
        ENTER_MODE(0, probe)
1:      CHECK(5, s0, 2)
        csrw mcounteren, zero
        li s0, 0
        lla s2, 1f
        j probe                         # M-mode
1:      CHECK(6, s0, 0)
        PASS

probe:
        rdcycle t0
        rdtime t0
        rdinstret t0
        csrr t0, hpmcounter3
        ecall

trap_vector:
        csrr t0, mcause
        li t1, 2
        bne t0, t1, back
        csrr t1, mepc                   # mtval holds the instruction's bits
        lwu t2, 0(t1)
        csrr t0, mtval
        li TESTNUM, 7
        bne t0, t2, fail
        addi s0, s0, 1
        addi t1, t1, 4
        csrw mepc, t1
        mret
back:   addi t0, t0, -8                 # an ecall (from U, S or M) ends the probe
        li t1, 3
        li TESTNUM, 8
        bgtu t0, t1, fail
        jr s2

TEST_DATA
