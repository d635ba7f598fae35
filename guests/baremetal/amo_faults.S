/* AMO and LR faults QEMU agrees with: a misaligned LR raises cause 4 (mtval = the address), an LR
 * where nothing answers cause 5; with PMP making a page read-only an AMO raises a store/AMO access fault
 * (7) and LR reads; on a read-only page an AMO raises a store/AMO page fault (15) and LR reads, LR on an
 * invalid page raises a load page fault (13). The faults of an AMO whose read fails: amo_store_faults.S.
 * Every trap goes to M-mode, which checks mcause and mtval and skips the instruction. */
#include "test.h"
#define HOLE 0x40000000                 /* nothing answers there on either board */
#define NAPOT_4K(reg) srli reg, reg, 2; ori reg, reg, 0x1ff
TEST_START

main:
        li s0, 0
        lla s3, data
        addi a1, s3, 2
        EXPECT(4, a1)
        lr.w t0, (a1)
        CHECK(1, s0, 1)
        li a1, HOLE
        EXPECT(5, a1)
        lr.d t0, (a1)
        CHECK(2, s0, 2)
        # PMP from S-mode: entry 0 covers `data`'s page (read-only), entry 1 allows the rest
        mv t0, s3
        NAPOT_4K(t0)
        csrw pmpaddr0, t0
        li t0, -1
        csrw pmpaddr1, t0
        li t0, (0x1f << 8) | 0x19
        csrw pmpcfg0, t0
        lla s2, 1f
        ENTER_MODE(0x800, pmp_read_only)
1:      CHECK(3, s0, 3)
        li t0, 0x1f                     # back to one entry for everything
        csrw pmpcfg0, t0
        li t0, -1
        csrw pmpaddr0, t0
        # Sv39 from S-mode: VA 0x40000000 maps DRAM read-only (a gigapage), VA 0xc0000000 is invalid
        lla t0, root
        li t1, (0x80000000 >> 12 << 10) | 0xcf
        sd t1, 16(t0)
        li t1, (0x80000000 >> 12 << 10) | 0x43
        sd t1, 8(t0)
        lla s2, 1f
        ENTER_MODE(0x800, paged)
1:      CHECK(4, s0, 5)
        PASS

pmp_read_only:                          # S-mode
        EXPECT(7, s3)
        amoadd.d t0, t1, (s3)
        lr.d t0, (s3)                   # reading is allowed
        ecall

paged:                                  # S-mode
        lla t0, root
        srli t0, t0, 12
        li t1, 8 << 60
        or t0, t0, t1
        csrw satp, t0
        sfence.vma
        li t0, 0x80000000 - 0x40000000
        sub a1, s3, t0
        EXPECT(15, a1)
        amomax.d t0, t1, (a1)
        lr.d t0, (a1)                   # a readable page
        li t0, 0x80000000
        add a1, a1, t0
        EXPECT(13, a1)
        lr.w t0, (a1)
        csrw satp, zero
        sfence.vma
        ecall

EXPECTED_TRAPS

TEST_DATA
        .section .data
        .align 12
data:   .dword 0
        .align 12
root:   .fill 512, 8, 0
