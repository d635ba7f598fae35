/* Integer arithmetic: wrapping at every width, overflow builtins, RISC-V division edge cases
 * (by zero, INT_MIN / -1), 128-bit products (mulh, mulhu, mulhsu), shifts and bit builtins. */
#include <inttypes.h>
#include <limits.h>
#include <stdint.h>

#include "guest.h"

static volatile int64_t samples[] = {0, 1, -1, 2, -2, 7, -7, 12345678901LL, -98765432109LL,
                                     INT32_MAX, INT32_MIN, INT64_MAX, INT64_MIN, 0x5555555555555555LL};
#define NSAMPLES (int)(sizeof samples / sizeof samples[0])

static void division(void) {
    for (int i = 0; i < NSAMPLES; i++) {
        for (int j = 0; j < NSAMPLES; j += 3) {
            int64_t a = samples[i], b = samples[j];
            uint64_t ua = (uint64_t)a, ub = (uint64_t)b;
            int32_t a32 = (int32_t)a, b32 = (int32_t)b;
            int64_t q, r;
            int32_t q32, r32;
            /* Through asm: C leaves these cases undefined, the ISA defines them. */
            __asm__("div %0, %1, %2" : "=r"(q) : "r"(a), "r"(b));
            __asm__("rem %0, %1, %2" : "=r"(r) : "r"(a), "r"(b));
            __asm__("divw %0, %1, %2" : "=r"(q32) : "r"(a32), "r"(b32));
            __asm__("remw %0, %1, %2" : "=r"(r32) : "r"(a32), "r"(b32));
            uint64_t uq, ur;
            __asm__("divu %0, %1, %2" : "=r"(uq) : "r"(ua), "r"(ub));
            __asm__("remu %0, %1, %2" : "=r"(ur) : "r"(ua), "r"(ub));
            printf("div %" PRId64 " %" PRId64 ": %" PRId64 " %" PRId64 " w %d %d u %" PRIu64 " %" PRIu64 "\n",
                   a, b, q, r, q32, r32, uq, ur);
            if (b == 0) {
                CHECK(q == -1 && r == a && uq == UINT64_MAX && ur == ua, "division by zero");
            } else if (!(a == INT64_MIN && b == -1)) {
                CHECK(q == a / b && r == a % b && uq == ua / ub && ur == ua % ub, "division");
            } else {
                CHECK(q == INT64_MIN && r == 0, "INT64_MIN / -1");
            }
        }
    }
}

static void products(void) {
    for (int i = 0; i < NSAMPLES; i++) {
        for (int j = i; j < NSAMPLES; j += 2) {
            int64_t a = samples[i], b = samples[j];
            __int128 s = (__int128)a * b;
            unsigned __int128 u = (unsigned __int128)(uint64_t)a * (uint64_t)b;
            __int128 su = (__int128)a * (unsigned __int128)(uint64_t)b;
            int64_t hsu;
            __asm__("mulhsu %0, %1, %2" : "=r"(hsu) : "r"(a), "r"(b));
            printf("mul %" PRId64 " %" PRId64 ": lo %016" PRIx64 " h %016" PRIx64 " hu %016" PRIx64
                   " hsu %016" PRIx64 " w %d\n", a, b, (uint64_t)s, (uint64_t)(s >> 64),
                   (uint64_t)(u >> 64), (uint64_t)hsu, (int32_t)((int32_t)a * (uint32_t)b));
            CHECK((uint64_t)(su >> 64) == (uint64_t)hsu, "mulhsu");
        }
    }
    unsigned __int128 big = ((unsigned __int128)0xfedcba9876543210ULL << 64) | 0x0123456789abcdefULL;
    unsigned __int128 q = big / 1000000007u, r = big % 1000000007u;
    printf("u128 / 1000000007 = %016" PRIx64 "%016" PRIx64 " rem %" PRIu64 "\n",
           (uint64_t)(q >> 64), (uint64_t)q, (uint64_t)r);
    CHECK(q * 1000000007u + r == big, "128-bit division");
}

static void overflow(void) {
    for (int i = 0; i < NSAMPLES; i++) {
        for (int j = 0; j < NSAMPLES; j += 4) {
            int64_t a = samples[i], b = samples[j], sum, product, difference;
            int32_t sum32;
            uint64_t usum;
            int o1 = __builtin_add_overflow(a, b, &sum);
            int o2 = __builtin_mul_overflow(a, b, &product);
            int o3 = __builtin_sub_overflow(a, b, &difference);
            int o4 = __builtin_add_overflow((int32_t)a, (int32_t)b, &sum32);
            int o5 = __builtin_add_overflow((uint64_t)a, (uint64_t)b, &usum);
            printf("ovf %" PRId64 " %" PRId64 ": %d%d%d%d%d %" PRId64 " %" PRId64 " %" PRId64 " %d\n",
                   a, b, o1, o2, o3, o4, o5, sum, product, difference, sum32);
        }
    }
    volatile uint8_t u8 = 250;
    volatile int8_t s8 = 127;
    volatile uint16_t u16 = 65535;
    volatile int16_t s16 = -32768;
    volatile uint32_t u32 = 0xffffffffu;
    u8 += 10;
    s8 = (int8_t)(s8 + 1);
    u16 += 2;
    s16 = (int16_t)(s16 - 1);
    u32 += 5;
    printf("wrap: %u %d %u %d %u\n", u8, s8, u16, s16, u32);
    CHECK(u8 == 4 && s8 == -128 && u16 == 1 && s16 == 32767 && u32 == 4, "wrapping");
}

static void shifts_and_bits(void) {
    for (int i = 0; i < NSAMPLES; i++) {
        uint64_t x = (uint64_t)samples[i];
        int64_t sx = samples[i];
        volatile int amount = i * 5 % 64;
        printf("bits %016" PRIx64 ": sll %016" PRIx64 " srl %016" PRIx64 " sra %016" PRIx64
               " sllw %08x sraw %08x pop %d par %d", x, x << amount, x >> amount,
               (uint64_t)(sx >> amount), (uint32_t)((uint32_t)x << (amount & 31)),
               (uint32_t)((int32_t)x >> (amount & 31)), __builtin_popcountll(x), __builtin_parityll(x));
        if (x) {
            printf(" clz %d ctz %d clz32 %d", __builtin_clzll(x), __builtin_ctzll(x),
                   (uint32_t)x ? __builtin_clz((uint32_t)x) : -1);
        }
        printf(" bswap %016" PRIx64 " rotl %016" PRIx64 " ffs %d\n", __builtin_bswap64(x),
               (x << 13) | (x >> 51), __builtin_ffsll((long long)x));
    }
    volatile uint32_t w = 0x80000001u;
    int64_t sign_extended = (int32_t)w;
    printf("sext.w %" PRId64 " zext %" PRIu64 "\n", sign_extended, (uint64_t)w);
    CHECK(sign_extended == -2147483647LL, "sign extension of a word");
}

static void comparisons(void) {
    int count = 0;
    for (int i = 0; i < NSAMPLES; i++) {
        for (int j = 0; j < NSAMPLES; j++) {
            int64_t a = samples[i], b = samples[j];
            count += (a < b) + 2 * ((uint64_t)a < (uint64_t)b) + 4 * (a == b);
        }
    }
    printf("comparison sum %d\n", count);
}

int main(void) {
    division();
    products();
    overflow();
    shifts_and_bits();
    comparisons();
    return guest_status();
}
