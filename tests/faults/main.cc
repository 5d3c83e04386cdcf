// fault_run: the whole cluster under load and faults, invariants checked, a report.
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <thread>

#include "tests/faults/invariants.h"
#include "tests/faults/run.h"

namespace {

constexpr char kHelp[] =
    "Usage: fault_run [--quick] [--seed N] [--duration SECONDS] [--report FILE]\n"
    "                 [--expect-violation INVARIANT]\n"
    "\n"
    "Starts 3 etcd members, 2 managers on them and 2 workers (all on loopback, as root),\n"
    "drives container starts and stops with runc on both workers, secret creates, rotates\n"
    "and service updates on both managers and `secret ps` reads, and injects faults: each\n"
    "kind once (manager-kill, etcd-kill, worker-kill, worker-cut, node-rm, rotate-key-kill),\n"
    "then a random schedule of them drawn from the seed. After each fault and at the end it\n"
    "checks the invariants: acknowledged-writes, no-lease-after-node-rm, whole-reads,\n"
    "convergence, no-payload-at-rest, starts-fail-closed.\n"
    "\n"
    "  --quick               the one-at-a-time phase only (about 3 minutes)\n"
    "  --seed N              the schedule's seed (default: random); printed in the report,\n"
    "                        the same seed replays the same schedule\n"
    "  --duration SECONDS    length of the random phase of a full run (default 540)\n"
    "  --report FILE         also write the report to FILE\n"
    "  --expect-violation X  a deliberately broken build: stop at the first violation, and\n"
    "                        exit 0 only when X was the first invariant violated\n"
    "\n"
    "OCI_SECRETS_FAULT_POINTS=NAME[,NAME...] in the environment arms those test-only fault\n"
    "points (a build with -DOCI_SECRETS_FAULT_POINTS=ON) in every daemon and hook after the\n"
    "set-up. Exit status: 0 every invariant held (or X was caught), 1 one was violated (or\n"
    "X was not), 2 a usage error or the cluster did not come up, 130/143 SIGINT/SIGTERM\n"
    "(everything torn down first).\n";

int Usage(const std::string& why) {
  std::fprintf(stderr, "fault_run: %s\n\n%s", why.c_str(), kHelp);
  return 2;
}

bool ParseUint(const char* text, std::uint64_t* out) {
  char* end = nullptr;
  errno = 0;
  const unsigned long long v = std::strtoull(text, &end, 10);
  if (errno != 0 || end == text || *end != '\0' || text[0] == '-') return false;
  *out = v;
  return true;
}

bool KnownInvariant(const std::string& name) {
  for (const char* known : ocisecrets::faults::kInvariantNames) {
    if (name == known) return true;
  }
  return false;
}

}  // namespace

int main(int argc, char** argv) {
  ocisecrets::faults::RunOptions options;
  options.seed = std::random_device{}();
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    auto value = [&]() -> const char* { return i + 1 < argc ? argv[++i] : nullptr; };
    if (arg == "--help" || arg == "-h") {
      std::fputs(kHelp, stdout);
      return 0;
    } else if (arg == "--quick") {
      options.quick = true;
    } else if (arg == "--seed" || arg == "--duration") {
      const char* v = value();
      std::uint64_t n = 0;
      if (v == nullptr || !ParseUint(v, &n)) return Usage(arg + " wants a non-negative number");
      if (arg == "--seed") {
        options.seed = n;
      } else {
        options.random_phase = std::chrono::seconds(n);
      }
    } else if (arg == "--report") {
      const char* v = value();
      if (v == nullptr) return Usage("--report wants a file");
      options.report_file = v;
    } else if (arg == "--expect-violation") {
      const char* v = value();
      if (v == nullptr || !KnownInvariant(v)) {
        return Usage("--expect-violation wants one of the six invariants");
      }
      options.expect_violation = v;
    } else {
      return Usage("unknown argument " + arg);
    }
  }
  if (::geteuid() != 0) return Usage("run as root: it starts runc containers and daemons");
  if (const char* armed = std::getenv("OCI_SECRETS_FAULT_POINTS")) options.fault_points = armed;

  // SIGINT and SIGTERM are taken by one thread; every other thread (and every child,
  // which resets its mask) runs with them blocked, so the run tears down first.
  sigset_t stop;
  sigemptyset(&stop);
  sigaddset(&stop, SIGINT);
  sigaddset(&stop, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop, nullptr);
  static std::atomic<int> caught{0};
  std::thread([stop] {
    int sig = 0;
    if (sigwait(&stop, &sig) == 0) {
      caught = sig;
      std::fprintf(stderr, "fault_run: %s: tearing down\n", strsignal(sig));
    }
  }).detach();
  return ocisecrets::faults::RunFaults(options, caught).exit_code;
}
