#pragma once
// A K-dimensional cell-centred grid over [lo, hi): the q histogram, the
// grand-potential tables and the solver all use the same cells. Flat index in
// C order (last dimension fastest), matching the HDF5 dataset layout.
#include <cmath>
#include <cstdint>
#include <vector>

#include "gcnn/config.hpp"

namespace gcnn {

class Grid {
 public:
  Grid() = default;
  explicit Grid(const Config& c) : Grid(c, c.periodic) {}
  Grid(const GridParams& g, bool periodic)
      : K_(static_cast<int>(g.grid_n.size())), periodic_(periodic), lo_(g.grid_lo), hi_(g.grid_hi), n_(g.grid_n) {
    size_ = 1;
    for (int k = 0; k < K_; ++k) {
      h_.push_back((hi_[k] - lo_[k]) / static_cast<double>(n_[k]));
      size_ *= n_[k];
    }
  }
  int K() const { return K_; }
  int64_t size() const { return size_; }
  int64_t n(int k) const { return n_[k]; }
  double h(int k) const { return h_[k]; }
  double lo(int k) const { return lo_[k]; }
  double hi(int k) const { return hi_[k]; }
  double cell_volume() const {
    double v = 1;
    for (double x : h_) v *= x;
    return v;
  }
  // Cell containing q, or -1 outside the grid.
  int64_t cell(const double* q) const {
    int64_t idx = 0;
    for (int k = 0; k < K_; ++k) {
      const double t = (q[k] - lo_[k]) / h_[k];
      if (!(t >= 0.0) || t >= static_cast<double>(n_[k])) return -1;
      idx = idx * n_[k] + static_cast<int64_t>(t);
    }
    return idx;
  }
  void centre(int64_t idx, double* q) const {
    for (int k = K_ - 1; k >= 0; --k) {
      const int64_t i = idx % n_[k];
      idx /= n_[k];
      q[k] = lo_[k] + (static_cast<double>(i) + 0.5) * h_[k];
    }
  }
  std::vector<double> centres() const {
    std::vector<double> pts(static_cast<size_t>(size_) * K_);
    for (int64_t i = 0; i < size_; ++i) centre(i, &pts[static_cast<size_t>(i) * K_]);
    return pts;
  }
  // Multilinear interpolation of a table with `stride` values per cell
  // (component `comp`) between cell centres; clamped at non-periodic edges.
  double interpolate(const std::vector<double>& table, int stride, int comp, const double* q) const {
    int64_t i0[3], i1[3];
    double f[3];
    for (int k = 0; k < K_; ++k) {
      double t = (q[k] - lo_[k]) / h_[k] - 0.5;
      const double nk = static_cast<double>(n_[k]);
      if (periodic_) {
        t -= nk * std::floor(t / nk);
        const int64_t a = static_cast<int64_t>(t) % n_[k];
        i0[k] = a;
        i1[k] = (a + 1) % n_[k];
        f[k] = t - std::floor(t);
      } else {
        t = std::min(std::max(t, 0.0), nk - 1.0);
        const int64_t a = std::min<int64_t>(static_cast<int64_t>(t), n_[k] - 2 < 0 ? 0 : n_[k] - 2);
        i0[k] = a;
        i1[k] = std::min<int64_t>(a + 1, n_[k] - 1);
        f[k] = t - static_cast<double>(a);
      }
    }
    double v = 0;
    for (int corner = 0; corner < (1 << K_); ++corner) {
      double wgt = 1;
      int64_t idx = 0;
      for (int k = 0; k < K_; ++k) {
        const bool up = (corner >> k) & 1;
        wgt *= up ? f[k] : 1.0 - f[k];
        idx = idx * n_[k] + (up ? i1[k] : i0[k]);
      }
      v += wgt * table[static_cast<size_t>(idx) * stride + comp];
    }
    return v;
  }

 private:
  int K_ = 1;
  bool periodic_ = false;
  std::vector<double> lo_, hi_, h_;
  std::vector<int64_t> n_;
  int64_t size_ = 0;
};

}  // namespace gcnn
