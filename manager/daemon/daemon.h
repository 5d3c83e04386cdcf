// oci-secretsd: wires the state dir, the encrypted store, the registry and the API server
// together, owns the unix socket, and shuts down cleanly on SIGTERM/SIGINT.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "manager/worker/worker.h"
#include "shared/names.h"
#include "shared/status.h"
#include "shared/time_format.h"  // ParseDuration, for --lease-ttl

namespace ocisecrets {

struct DaemonOptions {
  std::string state_dir{kDefaultStateDir};
  std::string socket{kDefaultSocketPath};
  std::string store = "sqlite";                    // the KvStore engine (store_factory.h)
  std::vector<std::string> etcd_endpoints;         // --store etcd: --etcd-endpoints
  std::string etcd_cacert, etcd_cert, etcd_key;    // --etcd-cacert/--etcd-cert/--etcd-key
  std::string etcd_prefix = "/oci-secrets/";       // --etcd-prefix
  std::string admin_group;                         // empty: only root
  std::chrono::seconds lease_ttl = std::chrono::hours(24);
  std::string audit_log;                           // empty: STATE_DIR/audit.log
  int threads = 0;                                 // 0: hardware threads
  double reencrypt_rate = 1000;                    // key rotation: records per second
  // --hook: the oci-secrets-hook the launcher runs for live updates. Empty: the one beside
  // the oci-secretsd binary, else kInstalledHookPath (shared/names.h); none found: live updates are off.
  std::string hook_path;
  // Serve under the manager's seccomp filter (SyscallPolicy::kManager, installed once the
  // state dir is open and the socket bound). Off only with --no-seccomp, for debugging.
  bool syscall_filter = true;
  // How the worker role (a machine joined to a cluster) reaches its managers. Empty: a
  // placeholder whose every call fails with Unavailable "TLS transport not built yet".
  ManagerDialer manager_dialer;
};

// The hook live updates run: `requested` when not empty (it must exist), else
// oci-secrets-hook beside `self_exe` (the daemon's binary), else kInstalledHookPath when
// executable. NotFound naming where it looked when there is none.
Result<std::string> FindRefreshHook(const std::string& requested, const std::string& self_exe);

// Creates a listening AF_UNIX socket at path: parent dir made 0755 when missing; a stale
// socket (connect gives ECONNREFUSED) is removed; anything else at path is refused, as is
// a path of 108 bytes or more. The socket ends up mode 0660, group = group when given.
// Returns the fd (the caller owns it).
Result<int> ListenUnix(const std::string& path, std::optional<gid_t> group);

// A listening TCP socket (non-blocking, close-on-exec, SO_REUSEADDR) on addr, ADDR:PORT
// or [IPV6]:PORT as NormalizeListenAddr (manager/cluster) returns it; a hostname is
// resolved. Returns the fd (the caller owns it); IOError "bind ADDR: ..." when taken.
Result<int> ListenTcp(const std::string& addr);

// Runs the daemon until SIGTERM/SIGINT. Returns the process exit code: 0 after a clean
// shutdown, 1 when it could not start (the reason is on stderr, one line).
int RunDaemon(const DaemonOptions& options);

// main(): flags (CLI11) then RunDaemon. Exit 2 on usage errors.
int DaemonMain(int argc, char** argv);

}  // namespace ocisecrets
