/* Reboot through the sifive_test syscon (0x7777) resets the board as QEMU does: the hart starts again at
 * the reset vector in M-mode with mstatus.MIE clear, the CLINT forgets its pending software interrupt,
 * the program's image is loaded afresh (a variable changed before the reboot has its initial value),
 * while RAM the image does not cover keeps what was written there (the mark telling the boots apart). */
#define VIRT_BOARD
#include "test.h"
#define MARK 0x80100000
#define MAGIC 0x5eb0075eb007
#define CLINT 0x2000000
TEST_START

main:
        li t1, MARK
        ld t0, 0(t1)
        li t2, MAGIC
        beq t0, t2, second_boot
        sd t2, 0(t1)
        lla t0, value
        li t1, 0x5678
        sd t1, 0(t0)
        li t0, MSTATUS_MIE              # mie is 0: nothing can interrupt
        csrs mstatus, t0
        li t1, CLINT
        li t0, 1
        sw t0, 0(t1)                    # msip pending
        li t1, 0x100000
        li t0, 0x7777
        sw t0, 0(t1)
        li t0, 1000000                  # the reboot takes effect within this loop
1:      addi t0, t0, -1
        bnez t0, 1b
        FAIL(1)

second_boot:
        li t1, MARK
        sd zero, 0(t1)
        lla t0, value
        ld t0, 0(t0)
        CHECK(2, t0, 0x1234)
        csrr t0, mstatus
        andi t0, t0, MSTATUS_MIE
        CHECK(3, t0, 0)
        csrr t0, mip
        andi t0, t0, 8
        CHECK(4, t0, 0)
        PASS

trap_vector:
        FAIL(5)

TEST_DATA
        .section .data
        .align 3
value:  .dword 0x1234
