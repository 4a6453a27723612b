#include "gcnn/h5md.hpp"

#include <cctype>
#include <cstdlib>
#include <set>
#include <sstream>

#include "gcnn/version.hpp"

namespace gcnn::h5md {

void write_header(hid_t file) {
  h5::Handle g = h5::create_group(file, "h5md");
  h5::attr(g, "version", std::vector<int64_t>{1, 1});
  h5::Handle cr = h5::create_group(g, "creator");
  h5::attr(cr, "name", std::string("gcnn"));
  h5::attr(cr, "version", std::string(kVersion) + " (" + kGitSha + ")");
  h5::Handle au = h5::create_group(g, "author");
  const char* user = std::getenv("USER");
  h5::attr(au, "name", std::string(user && *user ? user : "gcnn user"));
  // The model has its own units (docs/model-notes.md), not SI: system
  // "none", and each symbol the files use is defined here.
  h5::Handle units = h5::create_group(g, "modules/units");
  h5::attr(units, "version", std::vector<int64_t>{1, 0});
  h5::attr(units, "system", std::string("none"));
  h5::attr(units, "symbols",
           std::vector<std::string>{"q: network parameter (model unit of q)", "sqrtq: square root of q (sqrtq2 = q)",
                                    "energy: model energy (U, F, Omega, T)", "time: learning time (step times eta)",
                                    "steps: learning steps", "networks: count of networks",
                                    "neurons: count of neurons"});
}

namespace {
bool is_number(const std::string& t) {
  char* end = nullptr;
  std::strtod(t.c_str(), &end);
  return !t.empty() && end == t.c_str() + t.size() && (std::isdigit(static_cast<unsigned char>(t[0])) || t[0] == '.');
}
}  // namespace

bool valid_unit(const std::string& unit) {
  if (unit.empty() || unit.front() == ' ' || unit.back() == ' ' || unit.find("  ") != std::string::npos) return false;
  std::istringstream in(unit);
  std::set<std::string> seen;
  std::string factor;
  for (bool first = true; in >> factor; first = false) {
    if (first && is_number(factor)) continue;  // one numeric factor, leading
    size_t i = 0;
    while (i < factor.size() && std::isalpha(static_cast<unsigned char>(factor[i]))) ++i;
    const std::string symbol = factor.substr(0, i), exponent = factor.substr(i);
    if (symbol.empty() || !seen.insert(symbol).second) return false;
    if (exponent.empty()) continue;
    size_t j = exponent[0] == '-' || exponent[0] == '+' ? 1 : 0;
    if (j == exponent.size()) return false;
    for (size_t k = j; k < exponent.size(); ++k)
      if (!std::isdigit(static_cast<unsigned char>(exponent[k]))) return false;
    if (std::stol(exponent.substr(j)) == 0) return false;
  }
  return true;
}

std::string power(const std::string& symbol, int p) {
  if (p == 0) return "1";
  return p == 1 ? symbol : symbol + std::to_string(p);
}
std::string density_unit(int K) { return power("q", -K); }
std::string amplitude_unit(int K) { return K % 2 == 0 ? power("q", -K / 2) : power("sqrtq", -K); }

void write_box(hid_t particles_group, const Grid& grid, bool periodic, bool i_write) {
  h5::Handle box = h5::create_group(particles_group, "box");
  const int K = grid.K();
  h5::attr(box, "dimension", static_cast<int64_t>(K));
  h5::attr(box, "boundary", std::vector<std::string>(static_cast<size_t>(K), periodic ? "periodic" : "none"));
  if (!periodic) return;  // q is unbounded: no edges
  std::vector<double> edges;
  for (int k = 0; k < K; ++k) edges.push_back(grid.hi(k) - grid.lo(k));
  h5::write_dataset<double>(box, "edges", edges, {static_cast<hsize_t>(K)}, i_write, "q");
}

std::vector<h5::Handle> write_grid_scales(hid_t parent, const Grid& grid, bool i_write) {
  std::vector<h5::Handle> scales;
  for (int k = 0; k < grid.K(); ++k) {
    const std::string axis = std::to_string(k + 1);  // (appended: GCC 12 warns falsely on "q" + string)
    std::string name = "q";
    name += axis;
    std::vector<double> c(static_cast<size_t>(grid.n(k)));
    for (int64_t i = 0; i < grid.n(k); ++i) c[static_cast<size_t>(i)] = grid.lo(k) + (static_cast<double>(i) + 0.5) * grid.h(k);
    h5::write_dataset<double>(parent, name, c, {static_cast<hsize_t>(c.size())}, i_write, "q");
    h5::Handle d = h5::open_dataset(parent, name);
    h5::make_scale(d, name);
    std::string what = "cell centres of grid axis ";
    what += axis;
    what += " (a dimension scale)";
    h5::attr(d, "description", what);
    scales.push_back(std::move(d));
  }
  return scales;
}

void attach_grid(hid_t d, const std::vector<h5::Handle>& scales, unsigned first_dim) {
  for (size_t k = 0; k < scales.size(); ++k) h5::attach_scale(d, scales[k], first_dim + static_cast<unsigned>(k));
}

}  // namespace gcnn::h5md
