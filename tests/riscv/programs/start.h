/* A freestanding environment for the core's test programs: write(2), exit(2) and hex output. */
typedef unsigned long u64;
typedef unsigned int u32;

static long sys3(long n, long a, long b, long c) {
    register long a0 asm("a0") = a;
    register long a1 asm("a1") = b;
    register long a2 asm("a2") = c;
    register long a7 asm("a7") = n;
    asm volatile("ecall" : "+r"(a0) : "r"(a1), "r"(a2), "r"(a7) : "memory");
    return a0;
}

static void put_hex(u64 v) {
    char buf[17];
    for (int i = 15; i >= 0; i--, v >>= 4) buf[i] = "0123456789abcdef"[v & 15];
    buf[16] = '\n';
    sys3(64, 1, (long)buf, 17);
}

int main(void);

/* _start: the global pointer (gcc relaxes accesses to small data against it), then exit(main()). */
asm(".globl _start\n_start:\n.option push\n.option norelax\nla gp, __global_pointer$\n.option pop\n"
    "call main\nli a7, 93\necall\n");
