/* Floating point: the four C rounding modes (fesetround) and RISC-V's fifth (rmm, static in asm),
 * accrued exception flags, NaN/infinity/denormal/-0 edge cases, fmin/fmax, conversions to and from
 * integers (saturating fcvt), fma, sqrt, NaN-boxing of singles, libm and printf of doubles. */
#include <fenv.h>
#include <float.h>
#include <inttypes.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#include "guest.h"

static uint64_t bits_of(double x) {
    uint64_t bits;
    memcpy(&bits, &x, sizeof bits);
    return bits;
}

static uint32_t bits_of_float(float x) {
    uint32_t bits;
    memcpy(&bits, &x, sizeof bits);
    return bits;
}

static double from_bits(uint64_t bits) {
    double x;
    memcpy(&x, &bits, sizeof x);
    return x;
}

static void print_flags(const char *what) {
    int flags = fetestexcept(FE_ALL_EXCEPT);
    printf("%s flags:%s%s%s%s%s\n", what, flags & FE_INVALID ? " invalid" : "",
           flags & FE_DIVBYZERO ? " divbyzero" : "", flags & FE_OVERFLOW ? " overflow" : "",
           flags & FE_UNDERFLOW ? " underflow" : "", flags & FE_INEXACT ? " inexact" : "");
    feclearexcept(FE_ALL_EXCEPT);
}

static volatile double one = 1.0, three = 3.0, ten = 10.0, tiny = 1e-310, huge = DBL_MAX, zero = 0.0;
static volatile double values[] = {2.5, -2.5, 0.5, 1.5, -0.5, 1e16 + 1, 123456.789, -7.49999, 4294967296.5};
#define NVALUES (int)(sizeof values / sizeof values[0])

static void rounding_modes(void) {
    static const int modes[] = {FE_TONEAREST, FE_UPWARD, FE_DOWNWARD, FE_TOWARDZERO};
    static const char *names[] = {"nearest", "upward", "downward", "towardzero"};
    for (int m = 0; m < 4; m++) {
        CHECK(fesetround(modes[m]) == 0, "fesetround");
        CHECK(fegetround() == modes[m], "fegetround");
        volatile double third = one / three, root = sqrt(ten), fused = fma(third, three, -one);
        volatile float third_f = (float)one / (float)three, root_f = sqrtf((float)ten);
        volatile float narrowed = (float)third;
        volatile int64_t big = INT64_MAX - 1000;
        volatile double from_int = (double)big;
        volatile float from_int_f = (float)(int32_t)0x7fffff81;
        printf("%-10s 1/3 %a sqrt10 %a fma %a 1/3f %a sqrt10f %a narrow %a i2d %a i2f %a\n", names[m],
               third, root, fused, third_f, root_f, narrowed, from_int, from_int_f);
        printf("%-10s", names[m]);
        for (int i = 0; i < NVALUES; i++) {
            printf(" %.1f:%ld/%lld/%g/%g", values[i], lrint(values[i]), llrint(values[i]), rint(values[i]),
                   nearbyint(values[i]));
        }
        printf("\n");
        volatile double sum = 0;
        for (int i = 1; i <= 50; i++) {
            sum += 1.0 / i;
        }
        printf("%-10s harmonic(50) %.17g big*big %g tiny/ten %a\n", names[m], sum, huge * 2, tiny / ten);
        feclearexcept(FE_ALL_EXCEPT);
    }
    fesetround(FE_TONEAREST);
}

static void static_rounding(void) {
    /* rmm (round to nearest, ties to max magnitude) exists only as a static or dynamic frm field. */
    double a = 2.5, b = -2.5, c = 1.0 / 3.0;
    int64_t ra, rb;
    double sum;
    __asm__("fcvt.l.d %0, %1, rmm" : "=r"(ra) : "f"(a));
    __asm__("fcvt.l.d %0, %1, rmm" : "=r"(rb) : "f"(b));
    __asm__("fadd.d %0, %1, %2, rmm" : "=f"(sum) : "f"(c), "f"(c));
    printf("rmm: %" PRId64 " %" PRId64 " %a\n", ra, rb, sum);
    CHECK(ra == 3 && rb == -3, "rmm ties away from zero");
    unsigned long frm = 4, old;
    __asm__ volatile("fsrm %0, %1" : "=r"(old) : "r"(frm));
    double dynamic;
    int64_t rd;
    __asm__ volatile("fcvt.l.d %0, %1" : "=r"(rd) : "f"(a));
    __asm__ volatile("fmul.d %0, %1, %2" : "=f"(dynamic) : "f"(c), "f"(c));
    __asm__ volatile("fsrm %0" : : "r"(old));
    printf("dynamic rmm: %" PRId64 " %a (old frm %lu)\n", rd, dynamic, old);
    unsigned long fcsr;
    __asm__ volatile("frcsr %0" : "=r"(fcsr));
    printf("fcsr %#lx\n", fcsr);
}

static void exception_flags(void) {
    feclearexcept(FE_ALL_EXCEPT);
    print_flags("none");
    volatile double r = one / three;
    print_flags("1/3");
    r = one / zero;
    print_flags("1/0");
    r = huge * ten;
    print_flags("max*10");
    r = tiny * tiny;
    print_flags("tiny*tiny");
    r = zero / zero;
    print_flags("0/0");
    r = sqrt(-one);
    print_flags("sqrt(-1)");
    r = one + one;
    print_flags("1+1");
    CHECK(feraiseexcept(FE_OVERFLOW | FE_INEXACT) == 0, "feraiseexcept");
    print_flags("raised");
    fexcept_t saved;
    r = one / zero;
    fegetexceptflag(&saved, FE_ALL_EXCEPT);
    feclearexcept(FE_ALL_EXCEPT);
    fesetexceptflag(&saved, FE_DIVBYZERO);
    print_flags("restored");
    (void)r;
}

static void special_values(void) {
    volatile double nan_value = zero / zero, inf = one / zero, negative_zero = -zero;
    volatile double snan = from_bits(0x7ff0000000000001ULL), qnan_payload = from_bits(0x7ff800000000dead);
    printf("0/0 %016" PRIx64 " sqrt(-1) %016" PRIx64 " inf-inf %016" PRIx64 " nan+1 %016" PRIx64 "\n",
           bits_of(nan_value), bits_of(sqrt(-one)), bits_of(inf - inf), bits_of(qnan_payload + one));
    CHECK(bits_of(nan_value) == 0x7ff8000000000000ULL, "canonical NaN");
    printf("-0: %016" PRIx64 " %g %g %d 1/-0 %g\n", bits_of(negative_zero), negative_zero, -negative_zero,
           negative_zero == 0.0, one / negative_zero);
    printf("fmin(-0,0) %g fmax(-0,0) %g fmin(nan,1) %g fmax(1,nan) %g fmin(nan,nan) %016" PRIx64 "\n",
           fmin(negative_zero, zero), fmax(negative_zero, zero), fmin(nan_value, one), fmax(one, nan_value),
           bits_of(fmin(nan_value, nan_value)));
    feclearexcept(FE_ALL_EXCEPT);
    volatile double m = fmin(snan, one);
    printf("fmin(snan,1) %g ", m);
    print_flags("");
    printf("nan<1 %d nan==nan %d inf>max %d isnan %d isinf %d signbit(-0) %d\n", nan_value < one,
           nan_value == nan_value, inf > huge, isnan(nan_value), isinf(-inf), signbit(negative_zero));
    print_flags("comparisons");
    volatile double denormal = DBL_TRUE_MIN, smallest_normal = DBL_MIN;
    printf("denormal %a %a %a %a %d\n", denormal, denormal * 2, smallest_normal / 4, denormal / 2,
           fpclassify(denormal) == FP_SUBNORMAL);
    print_flags("denormals");
    static volatile double classified[] = {-INFINITY, -1.0, -1e-310, -0.0, 0.0, 1e-310, 1.0, INFINITY};
    printf("fclass:");
    for (int i = 0; i < 8; i++) {
        unsigned long class_bits;
        double x = classified[i];
        __asm__("fclass.d %0, %1" : "=r"(class_bits) : "f"(x));
        printf(" %#lx", class_bits);
    }
    unsigned long class_snan, class_qnan;
    double s = snan, q = nan_value;
    __asm__("fclass.d %0, %1" : "=r"(class_snan) : "f"(s));
    __asm__("fclass.d %0, %1" : "=r"(class_qnan) : "f"(q));
    printf(" %#lx %#lx\n", class_snan, class_qnan);
    CHECK(class_snan == 0x100 && class_qnan == 0x200, "fclass of NaNs");
}

static void conversions(void) {
    static volatile double inputs[] = {0.0, -0.0, 0.9, -0.9, 2147483647.5, 2147483648.0, -2147483649.0,
                                       4294967296.0, 9.3e18, -9.3e18, 1.9e19, NAN, INFINITY, -INFINITY, -1.0};
    for (int i = 0; i < (int)(sizeof inputs / sizeof inputs[0]); i++) {
        double x = inputs[i];
        int32_t w;
        uint32_t wu;
        int64_t l;
        uint64_t lu;
        __asm__("fcvt.w.d %0, %1, rtz" : "=r"(w) : "f"(x));
        __asm__("fcvt.wu.d %0, %1, rtz" : "=r"(wu) : "f"(x));
        __asm__("fcvt.l.d %0, %1, rtz" : "=r"(l) : "f"(x));
        __asm__("fcvt.lu.d %0, %1, rtz" : "=r"(lu) : "f"(x));
        printf("fcvt %g: w %d wu %u l %" PRId64 " lu %" PRIu64 " ", x, w, wu, l, lu);
        print_flags("");
    }
    static volatile uint64_t integers[] = {0, 1, 0x7fffffffffffffffULL, 0x8000000000000000ULL, 0xffffffffffffffffULL,
                                           0x20000000000001ULL, 16777217};
    for (int i = 0; i < (int)(sizeof integers / sizeof integers[0]); i++) {
        uint64_t n = integers[i];
        printf("int %" PRIu64 ": d %a f %a sd %a sf %a\n", n, (double)n, (float)n, (double)(int64_t)n,
               (float)(int64_t)n);
    }
    print_flags("int->fp");
    volatile float f = 0.1f;
    volatile double widened = f;
    volatile float back = (float)(widened * 3);
    printf("float %a widened %a back %a bits %08x\n", f, widened, back, bits_of_float(back));
    /* A single in a double register is NaN-boxed: the upper 32 bits are all ones. */
    uint64_t raw;
    float boxed = back;
    __asm__("fmv.x.d %0, %1" : "=r"(raw) : "f"(boxed));
    printf("nan-boxed %016" PRIx64 "\n", raw);
    CHECK(raw >> 32 == 0xffffffffu, "NaN-boxing");
    /* A double register that is not a valid boxed single reads as the canonical single NaN. */
    double unboxed = 1.0;
    float as_single;
    __asm__("fmv.s %0, %1" : "=f"(as_single) : "f"(unboxed));
    float sum_single;
    __asm__("fadd.s %0, %1, %1" : "=f"(sum_single) : "f"(as_single));
    printf("unboxed single + itself %08x\n", bits_of_float(sum_single));
    CHECK(bits_of_float(sum_single) == 0x7fc00000u, "improperly boxed single is NaN");
}

static void library(void) {
    static volatile double inputs[] = {0.5, 1.0, 2.0, 10.0, -3.25};
    for (int i = 0; i < 5; i++) {
        double x = inputs[i];
        printf("libm %g: exp %.17g log %.17g sin %.17g atan2 %.17g pow %.17g cbrt %.17g floor %g ceil %g "
               "trunc %g round %g fmod %g\n", x, exp(x), log(fabs(x)), sin(x), atan2(x, 3.0), pow(fabs(x), 1.5),
               cbrt(x), floor(x), ceil(x), trunc(x), round(x), fmod(x, 0.75));
    }
    static const double printed[] = {0.1, 1.0 / 3, 1e300, 1e-300, 5e-324, DBL_MAX, 123456789012345678.0, -0.0,
                                     100, 0.000123456, 2.5, 3.5};
    for (int i = 0; i < (int)(sizeof printed / sizeof printed[0]); i++) {
        volatile double x = printed[i];
        printf("printf %e|%g|%.3g|%.20g|%a|%-+12.3e|", x, x, x, x, x, x);
        if (fabs(x) < 1e20) {  /* %f of 1e300 is 300 digits: slow to emulate, and %e covers it */
            printf("%f|%10.4f|", x, x);
        }
        printf("\n");
    }
    printf("printf inf/nan: %f %e %g %F\n", INFINITY, -INFINITY, NAN, -NAN);
    const char *parsed[] = {"0.1", "1e-320", "-0", "inf", "nan", "0x1.8p3", "1e400", "2.2250738585072011e-308"};
    for (int i = 0; i < 8; i++) {
        printf("strtod %s = %a\n", parsed[i], strtod(parsed[i], NULL));
    }
}

int main(void) {
    rounding_modes();
    static_rounding();
    exception_flags();
    special_values();
    conversions();
    library();
    return guest_status();
}
