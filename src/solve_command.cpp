#include "gcnn/cli.hpp"
namespace gcnn {
int cmd_solve(int, char**, const Comm&) { throw ConfigError("gcnn solve is not built yet"); }
}
