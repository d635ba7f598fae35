/* Integer work: a sieve, crc32, a matrix product, recursion, division; the checksums to stdout. */
#include "start.h"

static char flags[8192];
static u32 table[256];
static long ma[16][16], mb[16][16], mc[16][16];

static u32 crc32(const unsigned char *p, int n) {
    u32 c = 0xffffffff;
    for (int i = 0; i < n; i++) c = table[(c ^ p[i]) & 0xff] ^ (c >> 8);
    return ~c;
}

static int sieve(void) {
    int count = 0;
    for (int i = 0; i < 8192; i++) flags[i] = 1;
    for (int i = 2; i < 8192; i++)
        if (flags[i]) { count++; for (int k = i + i; k < 8192; k += i) flags[k] = 0; }
    return count;
}

static long matmul(void) {
    for (int i = 0; i < 16; i++)
        for (int j = 0; j < 16; j++) {
            long s = 0;
            for (int k = 0; k < 16; k++) s += ma[i][k] * mb[k][j];
            mc[i][j] = s;
        }
    return mc[3][5];
}

static int fib(int n) { return n < 2 ? n : fib(n - 1) + fib(n - 2); }

static u64 divisions(void) {
    u64 acc = 0;
    for (long i = -500; i < 500; i++) {
        long d = i * 7919 + 13;
        acc += (u64)(d / (i | 1)) ^ (u64)(d % 17) ^ ((u64)d / 3u) ^ (u64)((int)d / -5);
    }
    return acc;
}

int main(void) {
    for (u32 i = 0; i < 256; i++) {
        u32 c = i;
        for (int k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >> 1) : c >> 1;
        table[i] = c;
    }
    for (int i = 0; i < 16; i++)
        for (int j = 0; j < 16; j++) { ma[i][j] = i + j; mb[i][j] = i - j; }
    for (int r = 0; r < ITERATIONS; r++) {
        put_hex(sieve());
        put_hex(crc32((const unsigned char *)flags, 8192));
        put_hex(matmul());
        put_hex(fib(15));
        put_hex(divisions());
    }
    return 0;
}
