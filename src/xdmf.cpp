#include "gcnn/xdmf.hpp"

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <vector>

#include "gcnn/h5.hpp"

namespace gcnn {

std::string xdmf_path(const std::string& h5_path) {
  const std::string ext = ".h5";
  if (h5_path.size() > ext.size() && h5_path.compare(h5_path.size() - ext.size(), ext.size(), ext) == 0)
    return h5_path.substr(0, h5_path.size() - ext.size()) + ".xdmf";
  return h5_path + ".xdmf";
}

namespace {

std::vector<double> read_attr_doubles(hid_t obj, const std::string& name) {
  h5::Handle a(H5Aopen(obj, name.c_str(), H5P_DEFAULT), "opening attribute " + name);
  h5::Handle sp(H5Aget_space(a), "H5Aget_space");
  const hssize_t n = H5Sget_simple_extent_npoints(sp);
  std::vector<double> v(static_cast<size_t>(n > 0 ? n : 0));
  if (!v.empty()) h5::check(H5Aread(a, H5T_NATIVE_DOUBLE, v.data()), "reading attribute " + name);
  return v;
}

// The q grid of a group with grid_lo, grid_hi, grid_n attributes.
struct Mesh {
  std::vector<double> lo, h;
  std::vector<int64_t> n;
  size_t K() const { return n.size(); }
};
Mesh mesh_of(hid_t g) {
  Mesh m;
  m.lo = read_attr_doubles(g, "grid_lo");
  const std::vector<double> hi = read_attr_doubles(g, "grid_hi");
  m.n = h5::read_attr_int_vector(g, "grid_n");
  if (m.lo.size() != m.n.size() || hi.size() != m.n.size()) throw std::runtime_error("grid attributes disagree");
  for (size_t k = 0; k < m.K(); ++k) m.h.push_back((hi[k] - m.lo[k]) / static_cast<double>(m.n[k]));
  return m;
}

std::string join(const std::vector<hsize_t>& v) {
  std::ostringstream o;
  for (size_t i = 0; i < v.size(); ++i) o << (i ? " " : "") << v[i];
  return o.str();
}

// One dataset of the .h5 as XDMF sees it: path, shape and number type.
struct Source {
  std::string ref;  // "file.h5:/path"
  std::vector<hsize_t> dims;
  std::string type;  // NumberType="..." Precision="..."
};
Source source(hid_t file, const std::string& h5_name, const std::string& path) {
  h5::Handle d = h5::open_dataset(file, path);
  h5::Handle t(H5Dget_type(d), "H5Dget_type");
  const bool is_float = H5Tget_class(t) == H5T_FLOAT;
  Source s{h5_name + ":" + path, h5::dims_of(d),
           std::string("NumberType=\"") + (is_float ? "Float" : "Int") + "\" Precision=\"" +
               std::to_string(H5Tget_size(t)) + "\""};
  return s;
}

class Writer {
 public:
  explicit Writer(std::ostream& o) : o_(o) {}

  // The cell-centred mesh: K = 1 as one row of a 2-D mesh; nodes per axis n + 1,
  // axes slowest first (the C order of the datasets), as are Origin and Spacing.
  void mesh(const Mesh& m, const std::string& in) {
    const size_t K = m.K();
    std::vector<hsize_t> nodes;
    std::vector<double> origin, spacing;
    if (K == 1) { nodes.push_back(2); origin.push_back(0); spacing.push_back(1); }
    for (size_t k = 0; k < K; ++k) {
      nodes.push_back(static_cast<hsize_t>(m.n[k] + 1));
      origin.push_back(m.lo[k]);
      spacing.push_back(m.h[k]);
    }
    const bool three = nodes.size() == 3;
    o_ << in << "<Topology TopologyType=\"" << (three ? "3D" : "2D") << "CoRectMesh\" Dimensions=\"" << join(nodes)
       << "\"/>\n"
       << in << "<Geometry GeometryType=\"" << (three ? "ORIGIN_DXDYDZ" : "ORIGIN_DXDY") << "\">\n"
       << in << "  " << item_xml(origin) << "\n" << in << "  " << item_xml(spacing) << "\n"
       << in << "</Geometry>\n";
  }

  static std::string whole(const Source& s) {
    return "<DataItem Format=\"HDF\" " + s.type + " Dimensions=\"" + join(s.dims) + "\">" + s.ref + "</DataItem>";
  }
  // Rows `row` of the leading axis, and (component >= 0) one index of the last axis.
  static std::string slab(const Source& s, hsize_t row, int component = -1) {
    const size_t r = s.dims.size();
    std::vector<hsize_t> start(r, 0), stride(r, 1), count(s.dims);
    start[0] = row;
    count[0] = 1;
    if (component >= 0) { start[r - 1] = static_cast<hsize_t>(component); count[r - 1] = 1; }
    std::ostringstream o;
    o << "<DataItem ItemType=\"HyperSlab\" Dimensions=\"" << join(count) << "\">"
      << "<DataItem Format=\"XML\" NumberType=\"UInt\" Dimensions=\"3 " << r << "\">" << join(start) << " "
      << join(stride) << " " << join(count) << "</DataItem>" << whole(s) << "</DataItem>";
    return o.str();
  }
  static std::string count_of(const Source& s, int component) {
    std::vector<hsize_t> count(s.dims);
    count[0] = 1;
    if (component >= 0) count.back() = 1;
    return join(count);
  }

  void attribute(const std::string& name, const std::string& item, const std::string& in) {
    o_ << in << "<Attribute Name=\"" << name << "\" AttributeType=\"Scalar\" Center=\"Cell\">" << item
       << "</Attribute>\n";
  }

  void begin_series(const std::string& name) {
    o_ << "    <Grid Name=\"" << name << "\" GridType=\"Collection\" CollectionType=\"Temporal\">\n";
  }
  void begin_step(const std::string& name, double t) {
    char buf[64];
    std::snprintf(buf, sizeof(buf), "%.17g", t);
    o_ << "      <Grid Name=\"" << name << "\" GridType=\"Uniform\">\n        <Time Value=\"" << buf << "\"/>\n";
  }
  void end_step() { o_ << "      </Grid>\n"; }
  void end_series() { o_ << "    </Grid>\n"; }

 private:
  static std::string item_xml(const std::vector<double>& v) {
    std::ostringstream o;
    o.precision(17);
    o << "<DataItem Format=\"XML\" NumberType=\"Float\" Precision=\"8\" Dimensions=\"" << v.size() << "\">";
    for (size_t i = 0; i < v.size(); ++i) o << (i ? " " : "") << v[i];
    o << "</DataItem>";
    return o.str();
  }
  std::ostream& o_;
};

constexpr const char* kStep = "        ";

// Results: the q histogram per sample (a temporal collection over the clock)
// and the static p_eq and Omega.
void results_part(Writer& w, std::ostream& o, hid_t f, const std::string& name, int64_t max_samples) {
  if (!h5::exists(f, "grand_potential") || !h5::exists(f, "observables/q_histogram/value")) return;
  h5::Handle gp = h5::open_group(f, "grand_potential");
  const Mesh m = mesh_of(gp);
  if (m.K() > 3) return;
  const Source hist = source(f, name, "/observables/q_histogram/value");
  const std::vector<double> t = h5::read_dataset<double>(f, "observables/clock/time");
  hsize_t S = std::min<hsize_t>(hist.dims[0], t.size());
  if (max_samples >= 0) S = std::min<hsize_t>(S, static_cast<hsize_t>(max_samples));
  w.begin_series("q_histogram");
  for (hsize_t s = 0; s < S; ++s) {
    w.begin_step("q_histogram sample " + std::to_string(s), t[s]);
    w.mesh(m, kStep);
    w.attribute("q_histogram", Writer::slab(hist, s), kStep);
    w.end_step();
  }
  w.end_series();
  o << "    <Grid Name=\"grand_potential\" GridType=\"Uniform\">\n";
  w.mesh(m, "      ");
  for (const char* d : {"p_eq", "omega"})
    if (h5::exists(gp, d)) w.attribute(d, Writer::whole(source(f, name, std::string("/grand_potential/") + d)), "      ");
  o << "    </Grid>\n";
}

// Solve: psi snapshots as Re, Im and |psi|^2 beside the potential V, and the
// Fokker-Planck density snapshots.
void solve_part(Writer& w, hid_t f, const std::string& name) {
  if (!h5::exists(f, "schrodinger")) return;
  h5::Handle g = h5::open_group(f, "schrodinger");
  const Mesh m = mesh_of(g);
  if (m.K() > 3) return;
  const Source V = source(f, name, "/schrodinger/V");
  struct Evo { const char* group; const char* field; bool complex; };
  for (const Evo& e : {Evo{"tdse", "psi", true}, Evo{"fokker_planck", "density", false}}) {
    const std::string base = std::string("/schrodinger/") + e.group;
    if (!h5::exists(f, base.substr(1) + "/" + e.field)) continue;
    const Source field = source(f, name, base + "/" + e.field);
    const std::vector<double> t = h5::read_dataset<double>(f, base.substr(1) + "/snapshot_time");
    w.begin_series(std::string(e.group) + " " + e.field);
    for (hsize_t s = 0; s < std::min<hsize_t>(field.dims[0], t.size()); ++s) {
      w.begin_step(std::string(e.field) + " snapshot " + std::to_string(s), t[s]);
      w.mesh(m, kStep);
      if (e.complex) {
        w.attribute("Re psi", Writer::slab(field, s, 0), kStep);
        w.attribute("Im psi", Writer::slab(field, s, 1), kStep);
        w.attribute("|psi|^2",
                    "<DataItem ItemType=\"Function\" Function=\"$0*$0 + $1*$1\" Dimensions=\"" +
                        Writer::count_of(field, 0) + "\">" + Writer::slab(field, s, 0) + Writer::slab(field, s, 1) +
                        "</DataItem>",
                    kStep);
      } else {
        w.attribute(e.field, Writer::slab(field, s), kStep);
      }
      w.attribute("V", Writer::whole(V), kStep);
      w.end_step();
    }
    w.end_series();
  }
}

}  // namespace

void write_xdmf(const std::string& h5_path, int64_t max_samples) {
  const std::string out = xdmf_path(h5_path);
  const auto slash = h5_path.rfind('/');
  const std::string name = slash == std::string::npos ? h5_path : h5_path.substr(slash + 1);
  std::ostringstream o;
  {
    h5::Handle f = h5::open_file(h5_path, false, MPI_COMM_SELF);
    o << "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<!DOCTYPE Xdmf SYSTEM \"Xdmf.dtd\" []>\n"
      << "<Xdmf Version=\"3.0\">\n  <Domain>\n";
    Writer w(o);
    results_part(w, o, f, name, max_samples);
    solve_part(w, f, name);
    o << "  </Domain>\n</Xdmf>\n";
  }
  const std::string tmp = out + ".tmp";
  {
    std::ofstream file(tmp, std::ios::trunc);
    file << o.str();
    file.flush();
    if (!file) throw std::runtime_error("cannot write '" + tmp + "'");
  }
  if (std::rename(tmp.c_str(), out.c_str()) != 0) {
    std::remove(tmp.c_str());
    throw std::runtime_error("cannot rename '" + tmp + "' to '" + out + "'");
  }
}

}  // namespace gcnn
