/* Sv39 paging in S-mode: a gigapage maps DRAM 1:1; a 4 KiB page maps VA 0x40000000 to `data`
 * read-only with A clear; S reads it (A gets set), a store faults (scause 15, stval = the VA),
 * an unmapped VA faults on load (13) and fetch (12), all delegated to S. satp with a reserved mode
 * (11) is ignored (WARL) and reads back as before. */
#include "test.h"
#define VA 0x40000000
TEST_START

main:
        li t0, (1 << 12) | (1 << 13) | (1 << 15)
        csrw medeleg, t0
        # root[2] = DRAM gigapage (0x80000000) RWX, A D set; root[1] -> level-1 table
        lla t0, root
        li t1, (0x80000000 >> 12 << 10) | 0xcf
        sd t1, 16(t0)
        lla t2, level1
        srli t2, t2, 12
        slli t2, t2, 10
        ori t2, t2, 1
        sd t2, 8(t0)
        lla t0, level1                   # level1[0] -> level-0 table
        lla t2, level0
        srli t2, t2, 12
        slli t2, t2, 10
        ori t2, t2, 1
        sd t2, 0(t0)
        lla t0, level0                   # level0[0] = data, V R (no A, no W)
        lla t2, data
        srli t2, t2, 12
        slli t2, t2, 10
        ori t2, t2, 0x3
        sd t2, 0(t0)
        lla t0, s_vector
        csrw stvec, t0
        ENTER_MODE(0x800, supervisor)

supervisor:
        lla t0, root
        srli t0, t0, 12
        li t1, 8 << 60
        or t0, t0, t1
        csrw satp, t0
        sfence.vma
        li t1, 11 << 60                 # a reserved mode: satp keeps its value
        csrw satp, t1
        csrr t1, satp
        li TESTNUM, 1
        bne t0, t1, fail
        li s0, 0
        li t1, VA
        ld t2, 0(t1)
        CHECK(2, t2, 0x1122334455667788)
        lla t0, level0                   # the walk set A
        ld t0, 0(t0)
        andi t0, t0, 0x40
        CHECK(3, t0, 0x40)
        sd t2, 0(t1)                    # read-only page: store page fault
        CHECK(4, s0, 15)
        li t1, VA + 0x1000              # unmapped: load page fault
        ld t2, 0(t1)
        CHECK(5, s0, 13)
        li t1, VA + 0x1000
        jalr t1                         # fetch page fault
        CHECK(6, s0, 12)
        PASS

s_vector:
        csrr s0, scause
        csrr t3, stval
        li TESTNUM, 7
        bne t3, t1, fail                # stval = the faulting address
        li t3, 12
        bne s0, t3, 1f
        csrw sepc, ra                   # the fetch fault: return after the jalr
        sret
1:      csrr t3, sepc
        addi t3, t3, 4
        csrw sepc, t3
        sret

trap_vector:
        FAIL(8)

        .data
        .align 12
root:   .zero 4096
level1: .zero 4096
level0: .zero 4096
data:   .dword 0x1122334455667788
        .align 12
TEST_DATA
