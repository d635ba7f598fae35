/* An S-mode payload for OpenSBI (fw_jump's next stage, linked at 0x80200000): what the firmware makes of
 * the board's counters and Sstc. rdtime works from S-mode and advances (OpenSBI sets mcounteren.TM);
 * stimecmp is accessible (OpenSBI probed Sstc and set menvcfg.STCE; an illegal instruction would come
 * back here through OpenSBI's redirect); a timer armed through SBI set_timer and one armed by writing
 * stimecmp each arrive as an S-mode timer interrupt. It prints "sbi_timer: PASS" or "sbi_timer: FAIL n"
 * through the SBI console and shuts down through SBI system reset. */
#define STIE 0x20
#define SIE 0x2
#define SPIE 0x20
        .section .text.init
        .option norvc
        .globl _start
_start:
        lla t0, s_vector
        csrw stvec, t0
        li s11, 1
        rdtime s1
        li t0, 10000
1:      addi t0, t0, -1
        bnez t0, 1b
        rdtime s2
        bgeu s1, s2, fail
        li s11, 2
        csrr t0, stimecmp
        li s11, 3                       # SBI TIME extension, set_timer(now + 1000)
        li s3, 0
        li t0, STIE
        csrs sie, t0
        csrsi sstatus, SIE              # taken before or at the wfi: SIE is then clear, STIP still pending
        rdtime a0
        addi a0, a0, 1000
        li a7, 0x54494D45
        li a6, 0
        ecall
1:      wfi
        beqz s3, 1b
        li s11, 4                       # stimecmp written directly
        li s3, 0
        rdtime t0
        addi t0, t0, 1000
        csrw stimecmp, t0
        csrsi sstatus, SIE
1:      wfi
        beqz s3, 1b
        lla a1, pass_text
        j finish
fail:   lla a1, fail_text
        addi t0, s11, '0'
        sb t0, 16(a1)
finish: lbu a0, 0(a1)                   # SBI legacy console_putchar, one byte at a time
        beqz a0, shutdown
        li a7, 1
        ecall
        addi a1, a1, 1
        j finish
shutdown:
        li a7, 0x53525354               # SBI SRST: shutdown, no reason
        li a6, 0
        li a0, 0
        li a1, 0
        ecall
1:      j 1b

        .align 2
s_vector:
        csrr t0, scause
        li t1, (1 << 63) | 5
        bne t0, t1, fail
        addi s3, s3, 1
        li t0, SPIE                     # return with SIE clear: the next check enables it again
        csrc sstatus, t0
        sret

        .section .data
pass_text: .asciz "sbi_timer: PASS\n"
fail_text: .asciz "sbi_timer: FAIL n\n"
