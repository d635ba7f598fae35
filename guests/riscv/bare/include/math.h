/* The bare runtime's math: sqrt and fabs are one instruction each (fsqrt.d, fabs.d). */
#ifndef BARE_MATH_H
#define BARE_MATH_H
static inline double sqrt(double x) {
    double root;
    __asm__("fsqrt.d %0, %1" : "=f"(root) : "f"(x));
    return root;
}
static inline double fabs(double x) {
    double magnitude;
    __asm__("fabs.d %0, %1" : "=f"(magnitude) : "f"(x));
    return magnitude;
}
#endif
