#pragma once
// Helpers shared by the tests: configs from key/value lists, and the
// statistics used to turn Monte Carlo noise into deterministic tolerances.
#include <boost/math/special_functions/gamma.hpp>

#include <cmath>
#include <string>
#include <utility>
#include <vector>

#include "gcnn/config.hpp"

namespace gcnn::test {

inline Config config(std::vector<std::pair<std::string, std::string>> kv) {
  kv.emplace_back("run.progress_seconds", "0");
  return make_config(kv);
}

// Batch means: series[t] for t = 0..n-1 split into B batches; returns the
// mean and its standard error from the spread of the batch means, which
// accounts for autocorrelation shorter than a batch.
struct MeanErr {
  double mean = 0, err = 0;
};
inline MeanErr batch_means(const std::vector<double>& batch) {
  const double B = static_cast<double>(batch.size());
  double m = 0;
  for (double x : batch) m += x;
  m /= B;
  double v = 0;
  for (double x : batch) v += (x - m) * (x - m);
  return {m, std::sqrt(v / (B - 1) / B)};
}

// Upper tail probability of chi^2 with `dof` degrees of freedom.
inline double chi2_pvalue(double chi2, double dof) { return boost::math::gamma_q(dof / 2.0, chi2 / 2.0); }

}  // namespace gcnn::test
