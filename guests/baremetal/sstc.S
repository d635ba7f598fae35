/* Sstc and the envcfg registers: menvcfg keeps FIOM and STCE, senvcfg FIOM (the CBIE/CBCFE/CBZE and
 * PBMTE fields are left out: QEMU 7.2 has Zicbom/Zicboz and keeps PBMTE, vmstack has neither and reads 0);
 * with STCE set mip.STIP is time >= stimecmp and software cannot write it, with STCE clear it is M-mode
 * software's bit again; S-mode reading or writing stimecmp is illegal unless both menvcfg.STCE and
 * mcounteren.TM are set; a delegated S-mode timer interrupt comes from stimecmp. */
#define VIRT_BOARD
#include "test.h"
#define STCE (1 << 63)
#define STIP 0x20
TEST_START

main:
        li t0, -1
        csrw menvcfg, t0
        csrr t1, menvcfg
        li t2, STCE | 1
        and t1, t1, t2
        CHECK(1, t1, STCE | 1)
        csrw senvcfg, t0
        csrr t1, senvcfg
        andi t1, t1, 1
        CHECK(2, t1, 1)
        # STCE set: STIP is the comparison, read-only to csrs/csrc
        li t0, -1
        csrw stimecmp, t0
        csrr t1, mip
        andi t1, t1, STIP
        CHECK(3, t1, 0)
        li t0, STIP
        csrs mip, t0
        csrr t1, mip
        andi t1, t1, STIP
        CHECK(4, t1, 0)
        csrw stimecmp, zero
        csrr t1, mip
        andi t1, t1, STIP
        CHECK(5, t1, STIP)
        # STCE clear: STIP is written by M-mode software
        li t0, STCE
        csrc menvcfg, t0
        li t0, STIP
        csrc mip, t0
        csrr t1, mip
        andi t1, t1, STIP
        CHECK(6, t1, 0)
        csrs mip, t0
        csrr t1, mip
        andi t1, t1, STIP
        CHECK(7, t1, STIP)
        csrc mip, t0
        # S-mode access to stimecmp: illegal with STCE clear, then with mcounteren.TM clear, else allowed
        li t0, 2
        csrw mcounteren, t0
        li s0, 0
        lla s2, 1f
        ENTER_MODE(0x800, probe)
1:      CHECK(8, s0, 2)
        li t0, STCE
        csrs menvcfg, t0
        csrw mcounteren, zero
        li s0, 0
        lla s2, 1f
        ENTER_MODE(0x800, probe)
1:      CHECK(9, s0, 2)
        li t0, 2
        csrw mcounteren, t0
        li s0, 0
        lla s2, 1f
        ENTER_MODE(0x800, probe)
1:      CHECK(10, s0, 0)
        # a delegated S-mode timer interrupt from stimecmp
        li t0, -1
        csrw stimecmp, t0
        li t0, STIP
        csrw mideleg, t0
        lla t0, s_vector
        csrw stvec, t0
        li s1, 0
        lla s2, 1f
        ENTER_MODE(0x800, s_timer)
1:      CHECK(11, s1, 1)
        PASS

probe:                                  # S-mode
        csrr t0, stimecmp
        csrw stimecmp, t0
        ecall

s_timer:                                # S-mode
        li t0, STIP
        csrs sie, t0
        rdtime t0
        addi t0, t0, 500
        csrw stimecmp, t0
        li t0, MSTATUS_SIE
        csrs sstatus, t0
1:      wfi                             # taken before or at the wfi: SIE is then clear, STIP pending
        beqz s1, 1b
        li t0, -1                       # moving stimecmp clears STIP
        csrw stimecmp, t0
        csrr t0, sip
        andi t0, t0, STIP
        CHECK(12, t0, 0)
        ecall

s_vector:
        csrr t0, scause
        li t1, (1 << 63) | 5
        li TESTNUM, 13
        bne t0, t1, fail
        addi s1, s1, 1
        li t0, 0x20                     # return with SIE clear (SPIE = 0): one interrupt only
        csrc sstatus, t0
        sret

trap_vector:
        csrr t0, mcause
        li t1, 2
        beq t0, t1, illegal
        li t1, 9
        beq t0, t1, back
        FAIL(14)
illegal:
        addi s0, s0, 1
        csrr t0, mepc
        addi t0, t0, 4
        csrw mepc, t0
        mret
back:   jr s2

TEST_DATA
