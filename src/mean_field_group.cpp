#include "gcnn/mean_field_group.hpp"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <numbers>
#include <stdexcept>

#include "gcnn/fastmath.hpp"

namespace gcnn {

namespace {
// 8 doubles as one value (GCC/Clang vector extension): the kernels below keep
// their per-cell state in a few of these across a whole group of neurons.
// Element-wise IEEE operations, never fused (-ffp-contract=off), so the
// results do not depend on the vector width the compiler maps them to.
// All of it has internal linkage, so the calling convention of a 64-byte
// vector without AVX-512 (GCC's -Wpsabi note) never matters.
#pragma GCC diagnostic ignored "-Wpsabi"
typedef double v8 __attribute__((vector_size(64)));
typedef long long i8 __attribute__((vector_size(64)));
constexpr size_t kLanes = 8;
constexpr size_t kCols = 2 * MeanFieldGroup::kMaxGroup;  // E and F columns of the factor product
constexpr size_t kHalf = MeanFieldGroup::kMaxGroup;       // columns per call of lines_times_factors
static_assert(kHalf == 32);

inline v8 load8(const double* p) {
  v8 v;
  std::memcpy(&v, p, sizeof v);
  return v;
}
inline void store8(double* p, v8 v) { std::memcpy(p, &v, sizeof v); }

// C[r, 0..32) = sum_b P[r, b] EFT[b, 0..32) for RB consecutive lines r (P
// rows of length nl, EFT rows of 32, C rows of stride kCols): each factor
// row is loaded once for RB lines, each probability once for 32 columns.
// (EFT is contiguous: with a stride of 64 columns its rows fell into half the
// L1 sets and were evicted, 1.7x slower.)
template <int RB>
inline void lines_times_factors(const double* P, size_t nl, const double* EFT, double* C) {
  v8 acc[RB][4];
  for (int r = 0; r < RB; ++r)
    for (int v = 0; v < 4; ++v) acc[r][v] = v8{};
  for (size_t b = 0; b < nl; ++b) {
    const double* e = EFT + b * kHalf;
    v8 e0 = load8(e), e1 = load8(e + 8), e2 = load8(e + 16), e3 = load8(e + 24);
#if defined(__AVX512F__)
    // keep the factor row in registers: otherwise GCC folds a load into every
    // multiply, RB times as many loads, and the loop becomes load-bound (1.8x)
    asm("" : "+v"(e0), "+v"(e1), "+v"(e2), "+v"(e3));
#endif
    for (int r = 0; r < RB; ++r) {
      const double pb = P[static_cast<size_t>(r) * nl + b];
      acc[r][0] += pb * e0;
      acc[r][1] += pb * e1;
      acc[r][2] += pb * e2;
      acc[r][3] += pb * e3;
    }
  }
  for (int r = 0; r < RB; ++r)
    for (int v = 0; v < 4; ++v) store8(C + static_cast<size_t>(r) * kCols + 8 * v, acc[r][v]);
}

// The running product of the pass over the cells off.. of one line, kept as
// mantissa * 2^expo: mant *= prod_i (1 + a_i E_i + b_i F_i), i over the
// group's nt factorised neurons (E_i, F_i rows of stride nlp), then the
// binary exponent moves from mant (back in [1, 2)) to expo. That replaces a
// logarithm per cell and group (~30 flops) by a few integer operations; the
// pass takes one logarithm per cell at its end. NV independent vectors hide
// the multiply's latency.
template <int NV>
inline void line_product(size_t nt, const double* a, const double* b, const double* EL, const double* FL, size_t nlp,
                         size_t off, double* mant, double* expo) {
  v8 acc[NV];
  for (int v = 0; v < NV; ++v) acc[v] = load8(mant + off + 8 * v);
  for (size_t i = 0; i < nt; ++i) {
    const double ai = a[i], bi = b[i];
    const double* E = EL + i * nlp + off;
    const double* F = FL + i * nlp + off;
    for (int v = 0; v < NV; ++v) acc[v] *= (1.0 + ai * load8(E + 8 * v)) + bi * load8(F + 8 * v);
  }
  const i8 mantissa_bits = i8{} + 0x000fffffffffffffLL, one_bits = i8{} + 0x3ff0000000000000LL;
  for (int v = 0; v < NV; ++v) {
    const i8 bits = reinterpret_cast<i8>(acc[v]);  // acc >= 1: sign 0, normal
    const v8 e = __builtin_convertvector((bits >> 52) - 1023, v8);
    store8(mant + off + 8 * v, reinterpret_cast<v8>((bits & mantissa_bits) | one_bits));
    store8(expo + off + 8 * v, load8(expo + off + 8 * v) + e);
  }
}

// For the occupancy and Lambda at the fixed point, over the cells off.. of
// one line: with x_i = rp_i E_i + rm_i F_i (= 2cosh y_i), w_i = el0_i x_i,
// u_i = 1 + w_i and n_i = w_i + sig_i (sig_i = s_i/(1 + s_i)):
//   L = sum_i sc_i x_i,  Pr = prod_i u_i,  D = sum_i n_i prod_{j != i} u_j,
// so that sum_i n_i/u_i = D/Pr (= sum_i t_i/(1 + t_i), see the header) costs
// one division per cell and group, not per neuron.
template <int NV>
inline void line_occupancy(size_t nt, const double* rp, const double* rm, const double* el0, const double* sc,
                           const double* sig, const double* EL, const double* FL, size_t nlp, size_t off, double* L_out,
                           double* D_out, double* P_out) {
  v8 L[NV], D[NV], Pr[NV];
  for (int v = 0; v < NV; ++v) {
    L[v] = v8{};
    D[v] = v8{};
    Pr[v] = v8{} + 1.0;
  }
  for (size_t i = 0; i < nt; ++i) {
    const double* E = EL + i * nlp + off;
    const double* F = FL + i * nlp + off;
    for (int v = 0; v < NV; ++v) {
      const v8 x = rp[i] * load8(E + 8 * v) + rm[i] * load8(F + 8 * v);
      L[v] += sc[i] * x;
      const v8 w = el0[i] * x;
      const v8 u = 1.0 + w;
      D[v] = D[v] * u + (w + sig[i]) * Pr[v];
      Pr[v] *= u;
    }
  }
  for (int v = 0; v < NV; ++v) {
    store8(L_out + off + 8 * v, L[v]);
    store8(D_out + off + 8 * v, D[v]);
    store8(P_out + off + 8 * v, Pr[v]);
  }
}

// E[a] = e^{wk q[a]}, F[a] = e^{-wk q[a]} on an axis of n equally spaced
// centres (spacing h): the first 8 by exp, the next 24 by the ratio over 8
// cells, the rest by the ratio over 32 (E[a] = E[a-32] e^{32 wk h}: four
// independent chains, not one latency-bound chain). The 2 n exponentials per
// neuron and axis were 13 % of a pass. Relative error ~ (|wk q| + a/32 + 6)
// 2.3e-16, the same order as exp's own for a rounded argument. A ratio that
// could overflow (> e^600) is not used: exp instead.
inline void axis_exponentials(double wk, const double* q, size_t n, double h, double* E, double* F) {
  const double r8 = 8.0 * wk * h, r32 = 32.0 * wk * h;
  const size_t head = std::fabs(r8) > 600.0 ? n : std::min(n, kLanes);
#pragma omp simd
  for (size_t a = 0; a < head; ++a) {
    E[a] = fm::exp(wk * q[a]);
    F[a] = fm::exp(-wk * q[a]);
  }
  const double rE8 = fm::exp(r8), rF8 = fm::exp(-r8);
  const size_t by8 = std::fabs(r32) > 600.0 ? n : std::min(n, 4 * kLanes);
  size_t a = head;
  for (; a + kLanes <= by8; a += kLanes) {
    store8(E + a, load8(E + a - kLanes) * rE8);
    store8(F + a, load8(F + a - kLanes) * rF8);
  }
  const double rE32 = fm::exp(r32), rF32 = fm::exp(-r32);
  for (; a + kLanes <= n; a += kLanes) {
    store8(E + a, load8(E + a - 4 * kLanes) * rE32);
    store8(F + a, load8(F + a - 4 * kLanes) * rF32);
  }
  for (; a < n; ++a) {
    E[a] = E[a - kLanes] * rE8;
    F[a] = F[a - kLanes] * rF8;
  }
}

// sum_{c < n} term(c) in 8 fixed lanes (lane c mod 8, then the lanes in
// order): the same bits for any vector width the build targets, which an
// `omp simd reduction` (partial sums per hardware lane) would not give.
template <class Term>
inline double lane_sum(size_t n, Term&& term) {
  double lane[kLanes] = {};
  size_t c = 0;
  for (; c + kLanes <= n; c += kLanes) {
#pragma omp simd
    for (size_t j = 0; j < kLanes; ++j) lane[j] += term(c + j);
  }
  for (size_t j = 0; c + j < n; ++j) lane[j] += term(c + j);
  double total = 0;
  for (double v : lane) total += v;
  return total;
}

// Calls chunk<NV>(off, width) for the chunks of a padded line of nlp cells:
// blocks of 4 vectors, then the 1-3 left; width = the chunk's cells below nl.
template <class Chunk>
inline void for_each_chunk(size_t nl, size_t nlp, Chunk&& chunk) {
  size_t off = 0;
  for (; off + 4 * kLanes <= nlp; off += 4 * kLanes) chunk.template operator()<4>(off, std::min(4 * kLanes, nl - off));
  switch ((nlp - off) / kLanes) {
    case 3: chunk.template operator()<3>(off, nl - off); break;
    case 2: chunk.template operator()<2>(off, nl - off); break;
    case 1: chunk.template operator()<1>(off, nl - off); break;
    default: break;
  }
}
}  // namespace

MeanFieldGroup::MeanFieldGroup(const Grid& grid) : K_(grid.K()), G_(static_cast<size_t>(grid.size())) {
  for (int k = 0; k < K_; ++k) {
    n_[k] = static_cast<size_t>(grid.n(k));
    q_[k].resize(n_[k]);
    h_[k] = grid.h(k);
    for (size_t a = 0; a < n_[k]; ++a) q_[k][a] = grid.lo(k) + (static_cast<double>(a) + 0.5) * grid.h(k);
  }
  nl_ = n_[K_ - 1];
  nlp_ = (nl_ + kLanes - 1) / kLanes * kLanes;
  lines_ = G_ / nl_;
  cp_.resize(kMaxGroup);
  cm_.resize(kMaxGroup);
  for (int k = 0; k + 1 < K_; ++k) {
    Ek_[k].resize(kMaxGroup * n_[k]);
    Fk_[k].resize(kMaxGroup * n_[k]);
    EkT_[k].resize(kMaxGroup * n_[k]);
    FkT_[k].resize(kMaxGroup * n_[k]);
  }
  EL_.assign(kMaxGroup * nlp_, 0.0);
  FL_.assign(kMaxGroup * nlp_, 0.0);
  EFT_.resize(nl_ * kCols);
  LP_.resize(lines_ * kMaxGroup);
  LM_.resize(lines_ * kMaxGroup);
  C_.resize(lines_ * kCols);
  for (auto& b : buf_) b.resize(nlp_);
}

double MeanFieldGroup::max_exponent(const NeuronParams& p, double invT) const {
  double y = std::fabs(static_cast<double>(p.c));
  for (int k = 0; k < K_; ++k) {
    const double w = p.w[k];
    y += std::max(std::fabs(w * q_[k].front()), std::fabs(w * q_[k].back()));
  }
  return y * invT;
}

void MeanFieldGroup::load(const NeuronParams* p, size_t n, double invT) {
  if (n > kMaxGroup) throw std::logic_error("MeanFieldGroup::load: more than kMaxGroup neurons");
  invT_ = invT;
  n_tensor_ = 0;
  tensor_idx_.clear();
  exact_idx_.clear();
  exact_p_.clear();
  const int last = K_ - 1;
  for (size_t i = 0; i < n; ++i) {
    if (max_exponent(p[i], invT) > kMaxExponent) {
      exact_idx_.push_back(i);
      exact_p_.push_back(p[i]);
      continue;
    }
    const size_t s = n_tensor_++;
    tensor_idx_.push_back(i);
    const double c = p[i].c;
    cp_[s] = fm::exp(c * invT);
    cm_[s] = fm::exp(-c * invT);
    for (int k = 0; k <= last; ++k) {
      const double wk = static_cast<double>(p[i].w[k]) * invT;
      const size_t stride = k == last ? nlp_ : n_[k];
      double* E = (k == last ? EL_.data() : Ek_[k].data()) + s * stride;
      double* F = (k == last ? FL_.data() : Fk_[k].data()) + s * stride;
      axis_exponentials(wk, q_[k].data(), n_[k], h_[k], E, F);
    }
  }
  make_line_factors();
}

// rp, rm of every line for the factorised neurons: e^{+-c/T} times the
// factors of the axes before the last (last-but-one axis first).
void MeanFieldGroup::make_line_factors() {
  const int last = K_ - 1;
  // the axes before the last transposed to [a][slot], so the loops below run
  // over contiguous slots (all kMaxGroup of them: unused ones hold finite
  // values of earlier groups, times cp = cm = 0)
  for (int k = 0; k < last; ++k) {
    for (size_t s = 0; s < n_tensor_; ++s)
      for (size_t a = 0; a < n_[k]; ++a) {
        EkT_[k][a * kMaxGroup + s] = Ek_[k][s * n_[k] + a];
        FkT_[k][a * kMaxGroup + s] = Fk_[k][s * n_[k] + a];
      }
  }
  for (size_t s = n_tensor_; s < kMaxGroup; ++s) cp_[s] = cm_[s] = 0.0;
  for (size_t line = 0; line < lines_; ++line) {
    double* rp = &LP_[line * kMaxGroup];
    double* rm = &LM_[line * kMaxGroup];
    std::copy(cp_.begin(), cp_.end(), rp);
    std::copy(cm_.begin(), cm_.end(), rm);
    size_t rest = line;
    for (int k = last - 1; k >= 0; --k) {
      const size_t a = rest % n_[k];
      rest /= n_[k];
      const double* E = &EkT_[k][a * kMaxGroup];
      const double* F = &FkT_[k][a * kMaxGroup];
#pragma omp simd
      for (size_t s = 0; s < kMaxGroup; ++s) {
        rp[s] *= E[s];
        rm[s] *= F[s];
      }
    }
  }
}

void MeanFieldGroup::two_cosh_exact(size_t e, double* x) const {
  const NeuronParams& p = exact_p_[e];
  const int last = K_ - 1;
  const double wl = p.w[last];
  const double* ql = q_[last].data();
  for (size_t line = 0; line < lines_; ++line) {
    // c + sum_k w_k q_k in axis order, as GrandPotential::evaluate sums it
    double z[3] = {0, 0, 0};
    size_t rest = line;
    for (int k = last - 1; k >= 0; --k) {
      z[k] = static_cast<double>(p.w[k]) * q_[k][rest % n_[k]];
      rest /= n_[k];
    }
    const double zl = static_cast<double>(p.c) + z[0] + z[1];
    double* xl = x + line * nl_;
#pragma omp simd
    for (size_t b = 0; b < nl_; ++b) xl[b] = fm::two_cosh((zl + wl * ql[b]) * invT_);
  }
}

void MeanFieldGroup::expected_two_cosh(const double* p, double* e) {
  if (lines_ < 4) {
    expected_two_cosh_by_dots(p, e);
    return;
  }
  double* ET = EFT_.data();
  double* FT = ET + nl_ * kMaxGroup;
  for (size_t b = 0; b < nl_; ++b)
    for (size_t j = 0; j < kMaxGroup; ++j) {
      ET[b * kMaxGroup + j] = j < n_tensor_ ? EL_[j * nlp_ + b] : 0.0;
      FT[b * kMaxGroup + j] = j < n_tensor_ ? FL_[j * nlp_ + b] : 0.0;
    }
  // C's E columns, then its F columns: each factor block (n_last x 32) stays in L1 for all lines
  for (size_t half = 0; half < 2; ++half) {
    const double* T = half ? FT : ET;
    const size_t col = half * kMaxGroup;
    size_t line = 0;
    for (; line + 4 <= lines_; line += 4) lines_times_factors<4>(p + line * nl_, nl_, T, &C_[line * kCols + col]);
    for (; line < lines_; ++line) lines_times_factors<1>(p + line * nl_, nl_, T, &C_[line * kCols + col]);
  }
  double acc[kMaxGroup] = {};
  for (size_t line = 0; line < lines_; ++line) {
    const double* c = &C_[line * kCols];
    const double* rp = &LP_[line * kMaxGroup];
    const double* rm = &LM_[line * kMaxGroup];
#pragma omp simd
    for (size_t s = 0; s < kMaxGroup; ++s) acc[s] += rp[s] * c[s] + rm[s] * c[kMaxGroup + s];
  }
  for (size_t s = 0; s < n_tensor_; ++s) e[tensor_idx_[s]] = acc[s];
  expected_two_cosh_exact(p, e);
}

// Few lines (K = 1: one): the transposed factors would cost as much as the
// product, so one dot product per neuron, line and factor.
void MeanFieldGroup::expected_two_cosh_by_dots(const double* p, double* e) {
  for (size_t s = 0; s < n_tensor_; ++s) {
    const double* E = &EL_[s * nlp_];
    const double* F = &FL_[s * nlp_];
    double acc = 0;
    for (size_t line = 0; line < lines_; ++line) {
      const double* pl = p + line * nl_;
      const double dE = lane_sum(nl_, [&](size_t b) { return pl[b] * E[b]; });
      const double dF = lane_sum(nl_, [&](size_t b) { return pl[b] * F[b]; });
      acc += LP_[line * kMaxGroup + s] * dE + LM_[line * kMaxGroup + s] * dF;
    }
    e[tensor_idx_[s]] = acc;
  }
  expected_two_cosh_exact(p, e);
}

void MeanFieldGroup::expected_two_cosh_exact(const double* p, double* e) {
  if (exact_p_.empty()) return;
  x_.resize(G_);
  for (size_t x = 0; x < exact_p_.size(); ++x) {
    two_cosh_exact(x, x_.data());
    const double* xg = x_.data();
    e[exact_idx_[x]] = lane_sum(G_, [&](size_t g) { return p[g] * xg[g]; });
  }
}

void MeanFieldGroup::start_product() {
  mant_.assign(lines_ * nlp_, 1.0);
  expo_.assign(lines_ * nlp_, 0.0);
}

void MeanFieldGroup::multiply_product(const double* el0) {
  if (!exact_p_.empty()) {  // their factors first, cell by cell (the group's bound keeps mant * product finite)
    x_.resize(G_);
    for (size_t x = 0; x < exact_p_.size(); ++x) {
      two_cosh_exact(x, x_.data());
      const double a = el0[exact_idx_[x]];
      for (size_t line = 0; line < lines_; ++line)
        for (size_t b = 0; b < nl_; ++b) mant_[line * nlp_ + b] *= 1.0 + a * x_[line * nl_ + b];
    }
  }
  double el0s[kMaxGroup] = {};  // by slot
  for (size_t s = 0; s < n_tensor_; ++s) el0s[s] = el0[tensor_idx_[s]];
  // chunk by chunk of the last axis, so that the group's factors of the chunk
  // (32 neurons x 2 x 32 cells) stay in L1 over all lines
  for_each_chunk(nl_, nlp_, [&]<int NV>(size_t off, size_t) {
    double a[kMaxGroup], b[kMaxGroup];  // el0 rp, el0 rm of the line
    for (size_t line = 0; line < lines_; ++line) {
      const double* rp = &LP_[line * kMaxGroup];
      const double* rm = &LM_[line * kMaxGroup];
#pragma omp simd
      for (size_t s = 0; s < kMaxGroup; ++s) {
        a[s] = el0s[s] * rp[s];
        b[s] = el0s[s] * rm[s];
      }
      line_product<NV>(n_tensor_, a, b, EL_.data(), FL_.data(), nlp_, off, &mant_[line * nlp_], &expo_[line * nlp_]);
    }
  });
}

void MeanFieldGroup::subtract_log_product(double T, double* om) const {
  for (size_t line = 0; line < lines_; ++line) {
    const double* m = &mant_[line * nlp_];
    const double* e = &expo_[line * nlp_];
    double* oml = om + line * nl_;
#pragma omp simd
    for (size_t c = 0; c < nl_; ++c) oml[c] -= T * (e[c] * std::numbers::ln2 + fm::log(m[c]));
  }
}

void MeanFieldGroup::add_occupancy_and_lambda(const double* p, const double* l1ps, double base, double lnM,
                                              double& occ, double* lam) {
  double el0[kMaxGroup], sc[kMaxGroup], sig[kMaxGroup];
  for (size_t s = 0; s < n_tensor_; ++s) {
    const double l = l1ps[tensor_idx_[s]];
    el0[s] = std::exp(base - l);
    sc[s] = std::exp(-lnM - l);
    sig[s] = -std::expm1(-l);  // s/(1 + s)
  }
  double* L = buf_[0].data();
  double* D = buf_[1].data();
  double* Pr = buf_[2].data();
  double sum = 0;
  for_each_chunk(nl_, nlp_, [&]<int NV>(size_t off, size_t width) {
    for (size_t line = 0; line < lines_; ++line) {
      line_occupancy<NV>(n_tensor_, &LP_[line * kMaxGroup], &LM_[line * kMaxGroup], el0, sc, sig, EL_.data(),
                         FL_.data(), nlp_, off, L, D, Pr);
      const double* pl = p + line * nl_ + off;
      double* laml = lam + line * nl_ + off;
#pragma omp simd
      for (size_t c = 0; c < width; ++c) laml[c] += L[off + c];
      sum += lane_sum(width, [&](size_t c) { return pl[c] * (D[off + c] / Pr[off + c]); });
    }
  });
  // exact path: t = e^{mu/T} 2cosh y / M + s per cell, as before the factorisation
  const double xm = std::exp(base);  // e^{mu/T}/M
  x_.resize(G_);
  for (size_t x = 0; x < exact_p_.size(); ++x) {
    two_cosh_exact(x, x_.data());
    const double l = l1ps[exact_idx_[x]], si = std::expm1(l), scale = std::exp(-lnM - l);
    const double* xg = x_.data();
    sum += lane_sum(G_, [&](size_t g) {
      const double t = xm * xg[g] + si;
      return p[g] * t / (1.0 + t);
    });
#pragma omp simd
    for (size_t g = 0; g < G_; ++g) lam[g] += scale * xg[g];
  }
  occ += sum;
}

}  // namespace gcnn
