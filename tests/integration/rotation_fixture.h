// What the key rotation integration tests (SQLite, and etcd with two managers) share: a
// daemon seeded with many secrets, grouped into services so that leasing every service
// opens every secret; a loop of leases during the pass; polling `cluster rotate-key`'s
// status.
//
//   ASSERT_TRUE(SeedSecrets(d, 2000).ok());       // s0..s1999, services all-0..all-49
//   LeaseLoop leases(d, 2000, "a");               // leases until Stop(), each checked
//   KeyStatus k = WaitForKeys(d, [](const KeyStatus& k) { return ...; });
//   EXPECT_TRUE(LeaseEveryService(d, 2000).ok()); // every payload opens on d
#pragma once

#include <atomic>
#include <functional>
#include <string>
#include <thread>

#include "shared/api_client.h"
#include "shared/cluster_client.h"
#include "shared/status.h"
#include "tests/integration/harness.h"

namespace ocisecrets::itest {

// The name and payload of secret i of a seed.
std::string SeedSecretName(int i);
std::string SeedPayload(int i);
// The name of the k-th service of a seed: all-K, holding secrets 40·K … 40·K+39.
std::string SeedServiceName(int k);
// How many services a seed of `secrets` secrets has.
int SeedServiceCount(int secrets);

// A client of d's unix socket (20 s per request).
ApiClient Connect(const Daemon& d);

// Creates `secrets` secrets and their services on d, one request each. The first error
// with the name it concerns.
Status SeedSecrets(const Daemon& d, int secrets);

// One lease of service k of a seed of `secrets` secrets for container_id, checked: every
// file holds its secret's payload. Ends the lease. An error naming the service otherwise
// (never a payload).
Status LeaseAndCheck(ApiClient& client, const std::string& container_id, int k, int secrets);
// LeaseAndCheck of every service in turn: every secret of the seed opens on d.
Status LeaseEveryService(const Daemon& d, int secrets);

// A thread of leases on d, one service after another (LeaseAndCheck), on its own
// connection, until Stop; counts those that succeeded and those that failed. Container
// IDs start with `tag`. d must outlive the loop or Stop be called before d stops.
class LeaseLoop {
 public:
  LeaseLoop(const Daemon& d, int secrets, std::string tag);
  ~LeaseLoop();  // Stop()
  LeaseLoop(const LeaseLoop&) = delete;
  LeaseLoop& operator=(const LeaseLoop&) = delete;

  // Ends the loop after the lease in flight. Idempotent.
  void Stop();
  int ok() const { return ok_; }
  int failed() const { return failed_; }
  // The first failure's words; valid once stopped.
  const std::string& first_error() const { return first_error_; }

 private:
  void Run(const Daemon& d, int secrets);

  std::string tag_;
  std::atomic<bool> stop_{false};
  std::atomic<int> ok_{0};
  std::atomic<int> failed_{0};
  std::string first_error_;
  std::thread thread_;
};

// GET of d's key terms and rotation progress.
Result<KeyStatus> KeysOf(const Daemon& d);

// Polls KeysOf(d) every 100 ms until pred holds, up to timeout; returns the last status
// seen (with a test failure on timeout, or for a status that could not be read).
KeyStatus WaitForKeys(const Daemon& d, const std::function<bool(const KeyStatus&)>& pred,
                      std::chrono::seconds timeout = std::chrono::seconds(120));

}  // namespace ocisecrets::itest
