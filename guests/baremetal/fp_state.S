/* mstatus.FS: while Off, F/D instructions (arithmetic, loads, stores, moves) and fflags/frm/fcsr accesses
 * trap as illegal (mtval = the instruction); an instruction writing FP state turns Clean into Dirty and
 * sets SD (in mstatus and sstatus), a store or a read of fflags leaves Clean as it is. */
#include "test.h"
#define FS 0x6000
#define FS_CLEAN 0x4000
#define SD_SHIFT 63
TEST_START

main:
        li t0, FS
        csrc mstatus, t0
        li s0, 0
        fadd.d f1, f2, f3
        fld f1, 0(sp)
        fsd f1, 0(sp)
        fmv.d.x f1, zero
        fmv.x.d t0, f1
        csrr t0, fflags
        csrw frm, zero
        csrr t0, fcsr
        CHECK(1, s0, 8)
        # Clean: a store and an fflags read keep it
        lla sp, scratch
        li t0, FS_CLEAN
        csrs mstatus, t0
        fsd f1, 0(sp)
        frflags t0
        CHECK(2, s0, 8)
        csrr t0, mstatus
        li t1, FS
        and t1, t0, t1
        CHECK(3, t1, FS_CLEAN)
        srli t0, t0, SD_SHIFT
        CHECK(4, t0, 0)
        # an FP register write makes it Dirty, SD follows
        fmv.d.x f1, zero
        csrr t0, mstatus
        li t1, FS
        and t1, t0, t1
        CHECK(5, t1, FS)
        srli t0, t0, SD_SHIFT
        CHECK(6, t0, 1)
        csrr t0, sstatus
        srli t0, t0, SD_SHIFT
        CHECK(7, t0, 1)
        # so does an fflags write
        li t0, FS
        csrc mstatus, t0
        li t0, FS_CLEAN
        csrs mstatus, t0
        fsflags zero
        csrr t0, mstatus
        li t1, FS
        and t1, t0, t1
        CHECK(8, t1, FS)
        # and an FP load; the trap count has not moved
        li t0, FS
        csrc mstatus, t0
        li t0, FS_CLEAN
        csrs mstatus, t0
        fld f2, 0(sp)
        csrr t0, mstatus
        li t1, FS
        and t1, t0, t1
        CHECK(9, t1, FS)
        CHECK(10, s0, 8)
        PASS

trap_vector:
        csrr t0, mcause
        li TESTNUM, 11
        li t1, 2
        bne t0, t1, fail
        csrr t1, mepc
        lwu t2, 0(t1)
        csrr t0, mtval
        li TESTNUM, 12
        bne t0, t2, fail
        addi s0, s0, 1
        addi t1, t1, 4
        csrw mepc, t1
        mret

TEST_DATA
        .section .data
        .align 3
scratch: .dword 0
