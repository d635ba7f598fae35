/* Float and double arithmetic under each rounding mode, with the accrued flags; results as bit patterns. */
#include "start.h"

static void set_rm(int rm) { asm volatile("fsrm %0" :: "r"(rm)); }
static u64 take_flags(void) { u64 f; asm volatile("frflags %0\n\tfsflags zero" : "=r"(f)); return f; }
static u64 dbits(double d) { union { double d; u64 u; } x = { d }; return x.u; }
static u64 fbits(float f) { union { float f; u32 u; } x = { f }; return x.u; }
static double dfrom(u64 u) { union { u64 u; double d; } x = { u }; return x.d; }
static float ffrom(u32 u) { union { u32 u; float f; } x = { u }; return x.f; }

static double dsqrt(double a) { double r; asm("fsqrt.d %0, %1" : "=f"(r) : "f"(a)); return r; }
static float fsqrt(float a) { float r; asm("fsqrt.s %0, %1" : "=f"(r) : "f"(a)); return r; }
static double dmin(double a, double b) { double r; asm("fmin.d %0, %1, %2" : "=f"(r) : "f"(a), "f"(b)); return r; }
static float fmax(float a, float b) { float r; asm("fmax.s %0, %1, %2" : "=f"(r) : "f"(a), "f"(b)); return r; }

static volatile double dv[] = { 1.0, 3.0, -0.0, 1e308, 1e-310, 0.1, -7.5, 2.5, 123456789.123 };
static volatile u64 dspecial[] = { 0x7ff0000000000000ul, 0x7ff8000000000000ul, 0x7ff4000000000000ul, 1ul };
static volatile float fv[] = { 1.0f, 3.0f, -0.0f, 3e38f, 1e-40f, 0.1f, -7.5f, 2.5f, 16777217.0f };

int main(void) {
    int nd = sizeof dv / sizeof dv[0], nf = sizeof fv / sizeof fv[0];
    for (int rm = 0; rm < 5; rm++) {
        set_rm(rm);
        for (int i = 0; i < nd; i++)
            for (int j = 0; j < nd; j++) {
                double a = dv[i], b = dv[j];
                put_hex(dbits(a + b) ^ dbits(a * b) << 1 ^ dbits(a / b) << 2 ^ dbits(a - b) << 3);
                put_hex(dbits(__builtin_fma(a, b, dv[(i + j) % nd])));
                put_hex(take_flags());
                put_hex((u64)(long)a ^ (u64)(unsigned long)b ^ (u64)(int)(a * 1e3));
                put_hex(take_flags());
            }
        for (int i = 0; i < nf; i++)
            for (int j = 0; j < nf; j++) {
                float a = fv[i], b = fv[j];
                put_hex(fbits(a + b) ^ fbits(a * b) << 16 ^ fbits(a / b) << 32 ^ fbits(a - b) << 48);
                put_hex(fbits(__builtin_fmaf(a, b, fv[(i + j) % nf])) ^ dbits((double)a) << 32);
                put_hex(fbits((float)dv[i]) ^ (u64)(unsigned)a << 32);
                put_hex(take_flags());
            }
        for (int i = 0; i < nd; i++) {
            put_hex(dbits(dsqrt(dv[i])) ^ fbits(fsqrt(fv[i])));
            put_hex(take_flags());
        }
        for (int i = 0; i < 4; i++) {
            double s = dfrom(dspecial[i]);
            put_hex(dbits(s + 1.0) ^ dbits(dmin(s, -0.0)) << 1 ^ (u64)(long)s ^ (u64)(s < 1.0));
            put_hex(take_flags());
            put_hex(fbits(ffrom(0x7fa00000u) * 2.0f) ^ fbits(fmax(ffrom(0x7fc00000u), 1.0f)));
            put_hex(take_flags());
        }
    }
    return 0;
}
