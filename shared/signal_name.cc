#include "shared/signal_name.h"

#include <charconv>
#include <csignal>
#include <iterator>

namespace ocisecrets {
namespace {

struct Entry {
  std::string_view name;  // without "SIG"
  int number;
};

// The standard signals of signal(7) that Linux has on every architecture we build for.
constexpr Entry kSignals[] = {
    {"HUP", SIGHUP},       {"INT", SIGINT},       {"QUIT", SIGQUIT},     {"ILL", SIGILL},
    {"TRAP", SIGTRAP},     {"ABRT", SIGABRT},     {"BUS", SIGBUS},       {"FPE", SIGFPE},
    {"KILL", SIGKILL},     {"USR1", SIGUSR1},     {"SEGV", SIGSEGV},     {"USR2", SIGUSR2},
    {"PIPE", SIGPIPE},     {"ALRM", SIGALRM},     {"TERM", SIGTERM},     {"STKFLT", SIGSTKFLT},
    {"CHLD", SIGCHLD},     {"CONT", SIGCONT},     {"STOP", SIGSTOP},     {"TSTP", SIGTSTP},
    {"TTIN", SIGTTIN},     {"TTOU", SIGTTOU},     {"URG", SIGURG},       {"XCPU", SIGXCPU},
    {"XFSZ", SIGXFSZ},     {"VTALRM", SIGVTALRM}, {"PROF", SIGPROF},     {"WINCH", SIGWINCH},
    {"IO", SIGIO},         {"PWR", SIGPWR},       {"SYS", SIGSYS},
};

bool EqualsIgnoringCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (std::size_t i = 0; i < a.size(); ++i) {
    char c = a[i];
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
    if (c != b[i]) return false;
  }
  return true;
}

}  // namespace

Result<int> SignalNumber(std::string_view name) {
  std::string_view bare = name;
  if (bare.size() > 3 && EqualsIgnoringCase(bare.substr(0, 3), "SIG")) bare.remove_prefix(3);
  int number = 0;
  auto [end, ec] = std::from_chars(name.data(), name.data() + name.size(), number);
  const bool numeric = !name.empty() && ec == std::errc() && end == name.data() + name.size();
  for (const Entry& e : kSignals) {
    if (numeric ? e.number == number : EqualsIgnoringCase(bare, e.name)) return e.number;
  }
  return Status::InvalidArgument("unknown signal " + std::string(name.substr(0, 32)) +
                                 " (use a name such as SIGHUP)");
}

std::string SignalName(int number) {
  for (const Entry& e : kSignals) {
    if (e.number == number) return "SIG" + std::string(e.name);
  }
  return "";
}

}  // namespace ocisecrets
