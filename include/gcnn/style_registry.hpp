#pragma once
// Styles registered by name, as LAMMPS registers its pair and fix styles:
// one registry per kind of style (boundary losses, learning modes, solver
// potentials), each an explicit table in its factory's .cpp, so a new style is
// its own file pair plus one line in that table. The INI choice list, --help
// and the validation of the name all come from the table. (An explicit table,
// not static registration objects: a static library drops an object file that
// nothing references, and its registration with it.)
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "gcnn/config.hpp"

namespace gcnn {

template <class Base, class... Args>
class StyleRegistry {
 public:
  struct Style {
    std::string name;
    std::string help;  // one line for --help
    std::function<std::unique_ptr<Base>(Args...)> make;
  };
  // `key` is the INI key that chooses among the styles, for messages.
  StyleRegistry(std::string key, std::vector<Style> styles) : key_(std::move(key)), styles_(std::move(styles)) {}

  // Builds the style `name`; an unknown name is a ConfigError listing the registered ones.
  std::unique_ptr<Base> make(const std::string& name, Args... args) const {
    for (const Style& s : styles_)
      if (s.name == name) return s.make(args...);
    throw ConfigError(key_ + " = '" + name + "' is not a valid choice; allowed: one of {" + joined(", ") + "}");
  }
  std::vector<std::string> names() const {
    std::vector<std::string> out;
    for (const Style& s : styles_) out.push_back(s.name);
    return out;
  }
  // "name help; name help; ..." for the parameter's --help line.
  std::string help() const {
    std::string out;
    for (const Style& s : styles_) out += (out.empty() ? "" : "; ") + s.name + (s.help.empty() ? "" : " " + s.help);
    return out;
  }
  const std::string& key() const { return key_; }

 private:
  std::string joined(const std::string& sep) const {
    std::string out;
    for (const Style& s : styles_) out += (out.empty() ? "" : sep) + s.name;
    return out;
  }
  std::string key_;
  std::vector<Style> styles_;
};

// A factory of the registry's table: make_style<Derived> builds Derived(args...).
template <class Base, class Derived, class... Args>
std::unique_ptr<Base> make_style(Args... args) {
  return std::make_unique<Derived>(args...);
}

}  // namespace gcnn
