// A worker's state in STATE_DIR/cluster/ (docs of issue 12's plan): what a machine that
// joined a cluster as a worker keeps across restarts. The directory is 0700, every file
// 0600, each written atomically (temporary file, fsync, rename):
//   node.key     the node's private key (PEM; it never leaves the machine)
//   node.crt     the node's certificate, issued by the cluster CA
//   ca.pem       the cluster CA's certificate
//   worker.json  {"ClusterID","NodeID","Managers":["ADDR:PORT",...]}: written last, so
//                its presence means the rest is complete
//   leases.json  the local containers holding a lease: container, service, times; no
//                payload ever
// Not thread-safe: the Worker serializes its calls.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "shared/file_util.h"
#include "shared/secure_buffer.h"
#include "shared/status.h"
#include "shared/time_format.h"

namespace ocisecrets {

// Who this machine is in its cluster.
struct WorkerIdentity {
  std::string cluster_id;
  std::string node_id;
  std::vector<std::string> managers;  // ADDR:PORT, in the order they are tried
  SecretBytes key_pem;
  std::string cert_pem;
  std::string ca_pem;
};

// A container on this machine that holds a lease from the cluster.
struct LocalLease {
  std::string container_id;  // "Container"
  std::string service;       // "Service"
  TimePoint granted_at{};    // "GrantedAt": when the manager last granted or renewed it
  TimePoint expires_at{};    // "ExpiresAt"
  bool pending_end = false;  // "PendingEnd": ended locally, the manager not told yet
};

class WorkerState {
 public:
  // The files live in state_dir + "/cluster". Nothing is touched before a call.
  explicit WorkerState(std::string state_dir);

  const std::string& dir() const { return dir_; }

  // The saved identity, or nullopt when this machine has not joined (no worker.json).
  // Finishes a certificate renewal a crash interrupted (see SaveCredentials). Refuses a
  // key file that is a symlink, not a regular file, not ours or not 0600
  // (FailedPrecondition naming the file and the fix); InvalidArgument for a damaged
  // worker.json; IOError on a file error.
  Result<std::optional<WorkerIdentity>> Load() const;

  // Writes every file of id (creating the directory 0700), worker.json last.
  Status Save(const WorkerIdentity& id) const;

  // Replaces the key and certificate together after a renewal: both are written beside
  // the old ones (node.key.next, node.crt.next) and then renamed into place, so that a
  // crash leaves either the old pair or the new one (Load completes the renames).
  Status SaveCredentials(const SecretBytes& key_pem, const std::string& cert_pem) const;

  // The local leases; empty when there is no leases.json. InvalidArgument when damaged.
  Result<std::vector<LocalLease>> LoadLeases() const;
  Status SaveLeases(const std::vector<LocalLease>& leases) const;

  // Removes every file and the directory (leave). OK when there is nothing.
  Status Remove() const;

 private:
  std::string File(std::string_view name) const;
  Status MakeDir() const;
  Status WriteFile(std::string_view name, const std::string& content,
                   Durability durability = Durability::kSync) const;
  Status FinishRenewal() const;

  std::string dir_;
};

}  // namespace ocisecrets
