#pragma once
// The inner loops of the mean-field setup (GrandPotential::solve_mean_field,
// docs/model-notes.md §27, §30, §35) for one group of at most kMaxGroup
// consecutive neurons of a rank, on the tensor grid.
//
// With y_i = (c_i + sum_k w_ik q_k)/T, 2cosh y_i factorises per axis:
//   2cosh y_i(q) = rp_i(line) E_i[b] + rm_i(line) F_i[b],
//   E_i[b] = e^{w_i,last q_last(b)/T},  F_i[b] = 1/E_i[b] (computed as e^{-...}),
//   rp_i(line) = e^{c_i/T} prod_{k<last} e^{w_ik q_k(a_k)/T}, rm_i the same with -,
// a "line" being the cells with all indices but the last fixed (C order).
// So 2cosh is never stored: every kernel reads per-neuron factors of one line
// (n_last doubles) and keeps its per-cell state in registers for the whole
// group, which it loads and stores once per group instead of once per neuron:
//  - expected_two_cosh: E_p[2cosh y_i] = sum_line rp_i C[line, E_i] + rm_i C[line, F_i]
//    with C = P [E F] the (lines x n_last) cell probabilities times the
//    (n_last x 2 group) factors, one register-blocked product for the group;
//  - multiply_product: Omega's factors prod_i (1 + el0_i 2cosh y_i) of the
//    group, into a running product per cell (one logarithm per cell and pass);
//  - add_occupancy_and_lambda: the occupied fraction and Lambda at the fixed point.
// Neurons whose partial products could overflow (max_exponent > kMaxExponent)
// take the exact path: 2cosh y_i per cell with fm::two_cosh.
// Every result is a deterministic function of the group's neurons (fixed
// loop order); it differs from the cell-by-cell evaluation by rounding only.
#include <cstddef>
#include <vector>

#include "gcnn/grid.hpp"
#include "gcnn/neuron_model.hpp"

namespace gcnn {

class MeanFieldGroup {
 public:
  static constexpr size_t kMaxGroup = 32;      // neurons per group (the blocked product's 64 columns)
  static constexpr double kMaxExponent = 700.0;  // beyond: exact path (e^700 < DBL_MAX / e^9)
  explicit MeanFieldGroup(const Grid& grid);

  // Bound on |y_i| over the grid: (|c| + sum_k max_a |w_k q_k(a)|)/T; every
  // partial product of the factorisation lies in [e^-ymax, e^ymax].
  double max_exponent(const NeuronParams& p, double invT) const;
  // The factors of neurons p[0..n), n <= kMaxGroup (else std::logic_error),
  // at temperature 1/invT.
  void load(const NeuronParams* p, size_t n, double invT);
  // e[i] = sum_g p[g] 2cosh y_i(q_g) for the loaded neurons (p: G cells, C order).
  void expected_two_cosh(const double* p, double* e);
  // Omega's sum over neurons as one running product per cell, kept as
  // mantissa * 2^exponent: start_product(); then per group
  // multiply_product(el0), the factors prod_i (1 + el0[i] 2cosh y_i(q_g)) of
  // the loaded neurons (their product must stay below e^600: the caller's
  // grouping guarantees it); then subtract_log_product: om[g] -= T ln(product).
  void start_product();
  void multiply_product(const double* el0);
  void subtract_log_product(double T, double* om) const;
  // At the fixed point's l1ps[i] = ln(1 + s_i), el0_i = e^{base - l1ps_i} and
  // lam_scale_i = e^{-ln M - l1ps_i}: occ += sum_i sum_g p_g t/(1 + t),
  // t = el0_i 2cosh y_i (1 + s_i) + s_i (the expected number of the group's
  // neurons held by some network), and lam[g] += sum_i lam_scale_i 2cosh y_i(q_g).
  void add_occupancy_and_lambda(const double* p, const double* l1ps, double base, double lnM, double& occ,
                                double* lam);

 private:
  void load_exact(size_t slot, const NeuronParams& p, double invT);
  void two_cosh_exact(size_t e, double* x) const;  // 2cosh y at every cell of exact neuron e
  void make_line_factors();
  void expected_two_cosh_by_dots(const double* p, double* e);
  void expected_two_cosh_exact(const double* p, double* e);

  int K_;
  size_t G_, n_[3] = {1, 1, 1}, nl_ = 1, nlp_ = 8, lines_ = 1;
  std::vector<double> q_[3];        // cell centres per axis
  double h_[3] = {1, 1, 1};         // their spacing
  size_t n_tensor_ = 0;             // neurons on the factorised path: slots 0..n_tensor_
  std::vector<size_t> tensor_idx_;  // their index in the loaded group
  std::vector<size_t> exact_idx_;   // the others' index
  std::vector<NeuronParams> exact_p_;
  double invT_ = 1;
  std::vector<double> cp_, cm_;     // e^{+-c/T} per slot
  std::vector<double> Ek_[2], Fk_[2];  // axes before the last: [slot * n_k + a]
  std::vector<double> EkT_[2], FkT_[2];  // the same transposed: [a * kMaxGroup + slot]
  std::vector<double> EL_, FL_;     // last axis: [slot * nlp_ + b], zero beyond n_last
  std::vector<double> EFT_;         // last axis transposed: E [b * kMaxGroup + slot], then F the same
  std::vector<double> LP_, LM_;     // rp, rm per line: [line * kMaxGroup + slot]
  std::vector<double> C_;           // P [E F]: [line * 2 kMaxGroup + j]
  std::vector<double> x_;           // exact path: 2cosh of one neuron [G]
  std::vector<double> mant_, expo_; // the running product per cell [lines * nlp_]
  std::vector<double> buf_[3];      // one line's per-cell results [nlp_]
};

}  // namespace gcnn
