// Fuzzes the shim's runc-compatible command line parser (hook/runtime/runtime_args.h): the
// engine builds the arguments, partly from user input (container ID, bundle path). The
// input is the argument list, NUL-separated.
// Invariants: the subcommand found is the word at its index, after every global flag; a
// bundle is found only for create and run, and it is the value of a --bundle/-b flag
// after the subcommand; a refusal happens only when the last word is a flag lacking its
// value.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "hook/runtime/runtime_args.h"
#include "tests/fuzz/fuzz_check.h"

namespace {

// The value a bundle flag at args[j] gives, if args[j] is one ("--bundle X", "-b=X").
bool BundleValueAt(const std::vector<std::string>& args, std::size_t j, std::string* value) {
  std::string_view w = args[j];
  if (w.size() < 2 || w[0] != '-') return false;
  w.remove_prefix(w[1] == '-' ? 2 : 1);
  std::size_t eq = w.find('=');
  std::string_view name = w.substr(0, eq);
  if (name != "bundle" && name != "b") return false;
  if (eq != std::string_view::npos) {
    *value = std::string(w.substr(eq + 1));
    return true;
  }
  if (j + 1 >= args.size()) return false;
  *value = args[j + 1];
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  using namespace ocisecrets;
  std::vector<std::string> args;
  std::string_view in(reinterpret_cast<const char*>(data), size);
  while (!in.empty() && args.size() < 64) {
    std::size_t nul = in.find('\0');
    args.emplace_back(in.substr(0, nul));
    in.remove_prefix(nul == std::string_view::npos ? in.size() : nul + 1);
  }

  auto inv = ParseRuntimeArgs(args);
  if (!inv.ok()) {
    FUZZ_CHECK(!args.empty() && args.back().size() >= 2 && args.back()[0] == '-',
               "refused only when the last word is a flag lacking its value");
    return 0;
  }
  if (inv->subcommand.empty()) {
    FUZZ_CHECK(!inv->bundle.has_value(), "no bundle without a subcommand");
    return 0;
  }
  const std::size_t at = inv->subcommand_index;
  FUZZ_CHECK(at < args.size() && args[at] == inv->subcommand, "subcommand is the word at its index");
  for (std::size_t i = 0; i < at; ++i) {
    FUZZ_CHECK(args[i].starts_with("-") || (i > 0 && args[i - 1].starts_with("-")),
               "only global flags and their values come before the subcommand");
  }
  FUZZ_CHECK(CreatesContainer(*inv) == (inv->subcommand == "create" || inv->subcommand == "run"),
             "create and run create containers");
  if (inv->bundle) {
    FUZZ_CHECK(CreatesContainer(*inv), "a bundle only for create and run");
    bool found = false;
    for (std::size_t j = at + 1; j < args.size() && !found; ++j) {
      std::string value;
      found = BundleValueAt(args, j, &value) && value == *inv->bundle;
    }
    FUZZ_CHECK(found, "the bundle is the value of a --bundle/-b flag after the subcommand");
  }
  return 0;
}
