/* The bit-manipulation extensions Zba, Zbb and Zbs, each instruction through inline asm
 * (built with -march=rv64gc_zba_zbb_zbs). */
#include <inttypes.h>
#include <stdint.h>

#include "guest.h"

static volatile uint64_t samples[] = {0, 1, 0xffffffffffffffffULL, 0x8000000000000000ULL, 0x80000000ULL,
                                      0x0123456789abcdefULL, 0xfedcba9876543210ULL, 0x00000000fffffff0ULL,
                                      0x7f, 0x8080808080808080ULL};
#define NSAMPLES (int)(sizeof samples / sizeof samples[0])

#define R(op, a, b) ({ uint64_t out_; __asm__(op " %0, %1, %2" : "=r"(out_) : "r"(a), "r"(b)); out_; })
#define U(op, a) ({ uint64_t out_; __asm__(op " %0, %1" : "=r"(out_) : "r"(a)); out_; })
#define I(op, a, imm) ({ uint64_t out_; __asm__(op " %0, %1, " #imm : "=r"(out_) : "r"(a)); out_; })

int main(void) {
    for (int i = 0; i < NSAMPLES; i++) {
        uint64_t a = samples[i], b = samples[(i * 7 + 3) % NSAMPLES];
        printf("%016" PRIx64 " %016" PRIx64 "\n", a, b);
        printf(" zba %" PRIx64 " %" PRIx64 " %" PRIx64 " %" PRIx64 " %" PRIx64 " %" PRIx64 " %" PRIx64 " %" PRIx64
               " %" PRIx64 "\n", R("add.uw", a, b), R("sh1add", a, b), R("sh2add", a, b), R("sh3add", a, b),
               R("sh1add.uw", a, b), R("sh2add.uw", a, b), R("sh3add.uw", a, b), I("slli.uw", a, 7),
               I("slli.uw", a, 40));
        printf(" zbb %" PRIx64 " %" PRIx64 " %" PRIx64 " %" PRIx64 " %" PRIx64 " %" PRIx64 " %" PRIx64 " %" PRIx64
               " %" PRIx64 " %" PRIx64 " %" PRIx64 "\n", R("andn", a, b), R("orn", a, b), R("xnor", a, b),
               U("clz", a), U("clzw", a), U("ctz", a), U("ctzw", a), U("cpop", a), U("cpopw", a),
               R("max", a, b), R("maxu", a, b));
        printf("     %" PRIx64 " %" PRIx64 " %" PRIx64 " %" PRIx64 " %" PRIx64 " %" PRIx64 " %" PRIx64 " %" PRIx64
               " %" PRIx64 " %" PRIx64 " %" PRIx64 " %" PRIx64 " %" PRIx64 " %" PRIx64 "\n", R("min", a, b),
               R("minu", a, b), U("sext.b", a), U("sext.h", a), U("zext.h", a), R("rol", a, b),
               R("rolw", a, b), R("ror", a, b), R("rorw", a, b), I("rori", a, 13), I("roriw", a, 5),
               U("orc.b", a), U("rev8", a), I("rori", a, 63));
        printf(" zbs %" PRIx64 " %" PRIx64 " %" PRIx64 " %" PRIx64 " %" PRIx64 " %" PRIx64 " %" PRIx64 " %" PRIx64
               "\n", R("bclr", a, b), R("bext", a, b), R("binv", a, b), R("bset", a, b), I("bclri", a, 63),
               I("bexti", a, 5), I("binvi", a, 31), I("bseti", a, 40));
        CHECK(U("cpop", a) == (uint64_t)__builtin_popcountll(a), "cpop");
        CHECK(U("rev8", a) == __builtin_bswap64(a), "rev8");
        CHECK(R("sh3add", a, b) == (a << 3) + b, "sh3add");
    }
    return guest_status();
}
