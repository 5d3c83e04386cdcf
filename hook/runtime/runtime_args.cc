#include "hook/runtime/runtime_args.h"

#include <algorithm>
#include <array>
#include <string_view>

namespace ocisecrets {
namespace {

// Subcommands of runc 1.1 and crun 1.8; used to tell an unknown boolean global flag
// from one that takes a value.
constexpr std::array<std::string_view, 21> kSubcommands = {
    "checkpoint", "create", "delete", "events", "exec", "features", "help",
    "kill",       "list",   "pause",  "ps",     "restore", "resume", "run",
    "spec",       "start",  "state",  "update", "mounts", "exec-ps", "checkpoint-ps",
};

// Global flags that take a value (runc and crun).
constexpr std::array<std::string_view, 7> kGlobalValueFlags = {
    "root", "log", "log-format", "criu", "rootless", "cgroup-manager", "log-level",
};

// Global flags that take no value.
constexpr std::array<std::string_view, 5> kGlobalBoolFlags = {
    "debug", "systemd-cgroup", "help", "h", "version",
};

// create/run flags that take a value, besides the bundle.
constexpr std::array<std::string_view, 4> kCreateValueFlags = {
    "console-socket", "pid-file", "preserve-fds", "criu",
};

template <std::size_t N>
bool Contains(const std::array<std::string_view, N>& list, std::string_view word) {
  return std::find(list.begin(), list.end(), word) != list.end();
}

// A flag split into its name (dashes removed) and, for "--name=value", its value.
struct Flag {
  std::string_view name;
  std::optional<std::string_view> value;
};

// Returns the flag in `word`, or nothing when `word` is not a flag ("-" alone, or a word
// without a leading dash).
std::optional<Flag> SplitFlag(std::string_view word) {
  if (word.size() < 2 || word[0] != '-') return std::nullopt;
  std::string_view body = word.substr(word[1] == '-' ? 2 : 1);
  if (body.empty()) return std::nullopt;  // "--" is handled by the caller
  Flag flag;
  std::size_t eq = body.find('=');
  if (eq == std::string_view::npos) {
    flag.name = body;
  } else {
    flag.name = body.substr(0, eq);
    flag.value = body.substr(eq + 1);
  }
  return flag;
}

}  // namespace

bool CreatesContainer(const RuntimeInvocation& invocation) {
  return invocation.subcommand == "create" || invocation.subcommand == "run";
}

Result<RuntimeInvocation> ParseRuntimeArgs(const std::vector<std::string>& args) {
  RuntimeInvocation inv;
  std::size_t i = 0;
  // Global flags, up to the first word that is not a flag.
  for (; i < args.size(); ++i) {
    const std::string& word = args[i];
    if (word == "--") {
      ++i;
      break;
    }
    std::optional<Flag> flag = SplitFlag(word);
    if (!flag) break;
    if (Contains(kGlobalValueFlags, flag->name)) {
      std::string value;
      if (flag->value) {
        value = std::string(*flag->value);
      } else {
        if (i + 1 >= args.size()) {
          return Status::InvalidArgument("flag " + word + " needs a value");
        }
        value = args[++i];
      }
      if (flag->name == "log") inv.log_path = value;
      if (flag->name == "log-format") inv.log_format = value;
      continue;
    }
    if (Contains(kGlobalBoolFlags, flag->name) || flag->value) continue;
    // Unknown flag without "=": boolean if a subcommand follows, else it eats a value.
    if (i + 1 < args.size() && !Contains(kSubcommands, args[i + 1]) &&
        !SplitFlag(args[i + 1])) {
      ++i;
    }
  }
  if (i >= args.size()) return inv;  // no subcommand: --version, --help
  inv.subcommand = args[i];
  inv.subcommand_index = i;
  if (!CreatesContainer(inv)) return inv;

  // create/run flags. runc also accepts flags after the container ID, so look at every
  // word up to "--".
  for (std::size_t j = i + 1; j < args.size(); ++j) {
    const std::string& word = args[j];
    if (word == "--") break;
    std::optional<Flag> flag = SplitFlag(word);
    if (!flag) continue;
    bool is_bundle = flag->name == "bundle" || flag->name == "b";
    bool takes_value = is_bundle || Contains(kCreateValueFlags, flag->name);
    if (!takes_value) continue;
    std::string value;
    if (flag->value) {
      value = std::string(*flag->value);
    } else {
      if (j + 1 >= args.size()) {
        return Status::InvalidArgument("flag " + word + " needs a value");
      }
      value = args[++j];
    }
    if (is_bundle) inv.bundle = value;
  }
  return inv;
}

}  // namespace ocisecrets
