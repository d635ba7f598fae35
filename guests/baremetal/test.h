/* The riscv-tests conventions for the project's bare-metal programs: start in M-mode, report through
 * HTIF (tohost = 1: pass; tohost = (n << 1) | 1: failed check n), trap into `trap_handler` unless a
 * test installs its own vector. TESTNUM (gp) numbers the check under way. */
#define TESTNUM gp

#define PASS            li a0, 1; j report
#define FAIL(n)         li TESTNUM, n; j fail
#define CHECK(n, reg, value) li t6, value; li TESTNUM, n; bne reg, t6, fail

#define MSTATUS_MPP     0x1800
#define MSTATUS_SPP     0x100
#define MSTATUS_MIE     0x8
#define MSTATUS_SIE     0x2
#define MSTATUS_TW      0x200000
#define MSTATUS_SUM     0x40000

/* On the virt board the verdict also goes to the sifive_test syscon (QEMU's virt has no HTIF). */
#ifdef VIRT_BOARD
#define REPORT_SYSCON                               \
        li t0, 0x5555;                              \
        li t1, 1;                                   \
        beq a0, t1, 2f;                             \
        srli t0, a0, 1;                             \
        slli t0, t0, 16;                            \
        li t1, 0x3333;                              \
        or t0, t0, t1;                              \
2:      li t1, 0x100000;                            \
        sw t0, 0(t1);
#else
#define REPORT_SYSCON
#endif

#define TEST_START                                  \
        .section .text.init;                        \
        .option norvc;                              \
        .globl _start;                              \
_start:                                             \
        lla t0, trap_vector;                        \
        csrw mtvec, t0;                             \
        li t0, -1;                                  \
        csrw pmpaddr0, t0;                          \
        li t0, 0x1f;                                \
        csrw pmpcfg0, t0;                           \
        li TESTNUM, 0;                              \
        j main;                                     \
fail:   slli a0, TESTNUM, 1;                        \
        ori a0, a0, 1;                              \
report: REPORT_SYSCON                                \
        lla t0, tohost;                             \
        sd a0, 0(t0);                               \
1:      j 1b;

#define TEST_DATA                                   \
        .section .tohost, "aw", @progbits;          \
        .align 6; .globl tohost; .type tohost, @object; .size tohost, 8; tohost: .dword 0; \
        .globl fromhost; .type fromhost, @object; .size fromhost, 8; fromhost: .dword 0;

/* Leave M-mode for `mode_bits` (0 = U, MSTATUS_SPP-like MPP values: 0x800 = S) at `target`. */
#define ENTER_MODE(mpp, target)                     \
        li t0, MSTATUS_MPP;                         \
        csrc mstatus, t0;                           \
        li t0, mpp;                                 \
        csrs mstatus, t0;                           \
        lla t0, target;                              \
        csrw mepc, t0;                              \
        mret;

/* One expected fault at a time: EXPECT(cause, addr) before the faulting instruction; EXPECTED_TRAPS is
 * then the M-mode trap vector, which checks mcause (s4) and mtval (s5), counts the trap in s0 and skips
 * the instruction (tests 20 and 21 fail otherwise); an ecall (cause 9) returns to s2. */
#define EXPECT(cause, addr) li s4, cause; mv s5, addr
#define EXPECTED_TRAPS                              \
trap_vector:                                        \
        csrr t0, mcause;                            \
        li t1, 9;                                   \
        beq t0, t1, back;                           \
        li TESTNUM, 20;                             \
        bne t0, s4, fail;                           \
        csrr t0, mtval;                             \
        li TESTNUM, 21;                             \
        bne t0, s5, fail;                           \
        addi s0, s0, 1;                             \
        csrr t0, mepc;                              \
        addi t0, t0, 4;                             \
        csrw mepc, t0;                              \
        mret;                                       \
back:   jr s2;
