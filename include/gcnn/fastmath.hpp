#pragma once
// Deterministic, vectorisable elementary functions for the hot loops.
//
// Why not std::exp/std::tanh: glibc's scalar functions cannot be vectorised,
// and the vector versions in libmvec round differently from the scalar ones.
// A loop that is vectorised for most elements and finishes with a scalar tail
// would then give a neuron a different result depending on where it sits in
// memory, breaking the bitwise rank-count invariance of docs/model.md §7.
// These functions use only +, * and bit operations, so the vector and the
// scalar code paths round identically (the build uses -ffp-contract=off),
// and so do builds for different instruction sets.
//
// Accuracy: exp has relative error below 3e-16 on [-708, 709] and clamps
// outside; tanh has absolute error below 2 ulp of 1 = 4.4e-16 (one rounding
// in the quotient, one in 1 - quotient; tests/test_fastmath.cpp).
#include <bit>
#include <cstdint>

namespace gcnn::fm {

// Always the unfused a*b + c (two roundings), on every build: a fused
// multiply-add where the compiler offers one (__FMA__, -march=native) would
// round differently from a build without it (GCNN_NATIVE=OFF, another CPU),
// and the same commit and config would give different digests (issue 15
// item 11). -ffp-contract=off keeps the compiler from fusing it back.
// Cost: docs/model-notes.md "One arithmetic for every build".
inline double fmadd(double a, double b, double c) { return a * b + c; }

inline double exp(double x) {
  x = x < -708.0 ? -708.0 : x;
  x = x > 709.0 ? 709.0 : x;
  constexpr double kShift = 0x1.8p52;  // adding it rounds to an integer
  constexpr double kLog2e = 0x1.71547652b82fep0;
  constexpr double kLn2Hi = 0x1.62e42fee00000p-1;  // trailing zeros: n*kLn2Hi exact
  constexpr double kLn2Lo = 0x1.a39ef35793c76p-33;
  const double kd = fmadd(x, kLog2e, kShift);
  const double n = kd - kShift;
  const int64_t ni = std::bit_cast<int64_t>(kd) - std::bit_cast<int64_t>(kShift);
  double r = fmadd(-n, kLn2Hi, x);
  r = fmadd(-n, kLn2Lo, r);
  // Taylor polynomial of e^r on |r| <= ln2/2, degree 12 (truncation < 2e-16).
  double p = 1.0 / 479001600.0;
  p = fmadd(p, r, 1.0 / 39916800.0);
  p = fmadd(p, r, 1.0 / 3628800.0);
  p = fmadd(p, r, 1.0 / 362880.0);
  p = fmadd(p, r, 1.0 / 40320.0);
  p = fmadd(p, r, 1.0 / 5040.0);
  p = fmadd(p, r, 1.0 / 720.0);
  p = fmadd(p, r, 1.0 / 120.0);
  p = fmadd(p, r, 1.0 / 24.0);
  p = fmadd(p, r, 1.0 / 6.0);
  p = fmadd(p, r, 0.5);
  p = fmadd(p, r, 1.0);
  p = fmadd(p, r, 1.0);
  const double scale = std::bit_cast<double>((ni + 1023) << 52);
  return p * scale;
}

// tanh(y) = 1 - 2/(1 + e^{2y}); saturates correctly at +-1.
inline double tanh(double y) { return 1.0 - 2.0 / (1.0 + exp(2.0 * y)); }

// 2 cosh(y), finite for all y (exp clamps at 709).
inline double two_cosh(double y) { return exp(y) + exp(-y); }

// Natural log of a positive normal x: x = 2^e m with m in [sqrt(1/2), sqrt(2)),
// ln m = 2 atanh(s), s = (m-1)/(m+1), |s| <= 0.1716, odd series to s^23
// (truncation < 1e-17). Relative error below 4e-16 (tests/test_fastmath.cpp).
inline double log(double x) {
  const int64_t bits = std::bit_cast<int64_t>(x);
  // exponent such that m = x / 2^e lies in [sqrt(1/2), sqrt(2))
  constexpr int64_t kSqrtHalfBits = 0x3fe6a09e667f3bcd;
  const int64_t shifted = bits - kSqrtHalfBits;
  const int64_t e = shifted >> 52;
  const double m = std::bit_cast<double>(bits - (e << 52));
  const double s = (m - 1.0) / (m + 1.0);
  const double s2 = s * s;
  double p = 2.0 / 23;
  p = fmadd(p, s2, 2.0 / 21);
  p = fmadd(p, s2, 2.0 / 19);
  p = fmadd(p, s2, 2.0 / 17);
  p = fmadd(p, s2, 2.0 / 15);
  p = fmadd(p, s2, 2.0 / 13);
  p = fmadd(p, s2, 2.0 / 11);
  p = fmadd(p, s2, 2.0 / 9);
  p = fmadd(p, s2, 2.0 / 7);
  p = fmadd(p, s2, 2.0 / 5);
  p = fmadd(p, s2, 2.0 / 3);
  const double ed = static_cast<double>(e);
  constexpr double kLn2Hi = 0x1.62e42fee00000p-1, kLn2Lo = 0x1.a39ef35793c76p-33;
  // 2s + s^3 p, then e ln2 in two parts
  return fmadd(ed, kLn2Hi, fmadd(s * s2, p, 2.0 * s) + ed * kLn2Lo);
}

// sin(pi x) and cos(pi x) for |x| <= 1 (the Box-Muller angle). x = n/2 + r
// with n = round(2x) and |r| <= 1/4 exactly (Sterbenz); Taylor polynomials
// of sin y and cos y in t = y^2, y = pi r, |y| <= pi/4 (truncation < 5e-17);
// then the quadrant n mod 4. Absolute error below 3e-16
// (tests/test_fastmath.cpp).
inline void sincospi(double x, double& s, double& c) {
  constexpr double kShift = 0x1.8p52;
  constexpr double kPi = 0x1.921fb54442d18p1;
  const double kd = 2.0 * x + kShift;  // rounds 2x to an integer n
  const double n = kd - kShift;
  const int64_t m = (std::bit_cast<int64_t>(kd) - std::bit_cast<int64_t>(kShift)) & 3;  // n mod 4
  const double y = (x - 0.5 * n) * kPi;
  const double t = y * y;
  double ps = -1.0 / 1307674368000.0;  // -1/15!
  ps = fmadd(ps, t, 1.0 / 6227020800.0);
  ps = fmadd(ps, t, -1.0 / 39916800.0);
  ps = fmadd(ps, t, 1.0 / 362880.0);
  ps = fmadd(ps, t, -1.0 / 5040.0);
  ps = fmadd(ps, t, 1.0 / 120.0);
  ps = fmadd(ps, t, -1.0 / 6.0);
  const double sn = fmadd(y * t, ps, y);
  double pc = 1.0 / 20922789888000.0;  // 1/16!
  pc = fmadd(pc, t, -1.0 / 87178291200.0);
  pc = fmadd(pc, t, 1.0 / 479001600.0);
  pc = fmadd(pc, t, -1.0 / 3628800.0);
  pc = fmadd(pc, t, 1.0 / 40320.0);
  pc = fmadd(pc, t, -1.0 / 720.0);
  pc = fmadd(pc, t, 1.0 / 24.0);
  pc = fmadd(pc, t, -0.5);
  const double cs = fmadd(t, pc, 1.0);
  // pi x = n pi/2 + y: quadrants (sn, cs), (cs, -sn), (-sn, -cs), (-cs, sn)
  const double a = (m & 1) ? cs : sn;
  const double b = (m & 1) ? sn : cs;
  s = (m & 2) ? -a : a;
  c = ((m + 1) & 2) ? -b : b;
}

// Two standard normals by Box-Muller from an angle ang in [-1, 1] (units of
// pi) and a uniform u in (0, 1]: the formula of Random123's r123::boxmuller
// with these functions, so that it vectorises and rounds identically in
// every lane. (sqrt is correctly rounded in both.)
inline void box_muller(double ang, double u, double& n0, double& n1) {
  const double r = __builtin_sqrt(-2.0 * log(u));
  double s, c;
  sincospi(ang, s, c);
  n0 = s * r;
  n1 = c * r;
}

// ln(1 + x) for x >= 0, accurate also for small x (the rounding of 1 + x is
// corrected to first order).
inline double log1p(double x) {
  const double u = 1.0 + x;
  return log(u) - ((u - 1.0) - x) / u;
}

}  // namespace gcnn::fm
