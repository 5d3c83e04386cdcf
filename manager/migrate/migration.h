// Copies a whole store from one KvStore engine to another (SQLite to etcd and back) so
// that the destination serves exactly what the source served: every record but the
// runtime state (leases/), each at exactly the revision it had in the source, hence every
// secret's and service's Version.Index. Used by `oci-secretsd migrate`.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>

#include "manager/store/kv_store.h"
#include "shared/crypto.h"
#include "shared/status.h"

namespace ocisecrets {

// The scratch key that advances the destination's revision to a record's source revision
// while a migration runs; deleted when it ends.
inline constexpr const char* kMigratePadKey = "migrate/pad";

struct MigrationProgress {
  std::size_t done = 0;   // records in the destination (copied now or by an earlier run)
  std::size_t total = 0;  // records to copy
};

struct MigrateOptions {
  KvStore* from = nullptr;  // only read
  KvStore* to = nullptr;    // empty, or an earlier interrupted run's partial copy
  // The root key that opens the source's keyring (and so the copy's), to verify.
  KeyBytes root_key;
  // Called once before the first write, then at most every progress_interval, and once
  // at the end. A non-OK status stops the migration there and Migrate returns it (with
  // context "migrate: interrupted"); what was written stays, a later run resumes.
  std::function<Status(const MigrationProgress&)> progress;
  std::chrono::milliseconds progress_interval{1000};
};

struct MigrationReport {
  std::size_t records = 0;       // records in the destination (every key but leases/)
  std::size_t resumed = 0;       // of those, found already copied by an earlier run
  std::size_t secrets = 0;       // secrets/ records
  std::size_t services = 0;      // services/ records
  std::size_t nodes = 0;         // nodes/ records
  std::size_t key_terms = 0;     // keyring/terms/ records
  std::size_t padding_txns = 0;  // txns that only advanced the destination's revision
  double seconds = 0;            // wall time of the whole run
};

// OK unless the store is autolocked (keyring/root present, its root key wrapped by an
// unlock key): FailedPrecondition "the source is autolocked ...: turn autolock off first:
// oci-secrets cluster update --autolock=false". Errors of Get otherwise.
Status CheckNotAutolocked(KvStore& source);

// Copies every record of options.from but leases/ into options.to, in source revision
// order, each at its source revision (the destination's revision is advanced first with
// kMigratePadKey; the records of one source txn are written in one txn). Resumes when
// options.to holds exactly what an earlier run had written. Then verifies: the copy equals
// the source record for record (value and mod_revision), the keyring opens at the
// destination with root_key, and every payloads/ record opens. The source is never
// written. The stores must not be written by anyone else while it runs.
//
// Errors: InvalidArgument for missing stores; FailedPrecondition "the source is
// autolocked ..." (keyring/root present), "... KEY differs ..." when the destination holds
// anything but an earlier run's copy of this source, when a secret or service cannot keep
// its revision (the destination's revision is already past it), or when the source
// changed during the run; DataLoss when the root key does not open the keyring or a
// payload does not open at the destination; the progress callback's error; the engines'
// errors with the step as context.
Result<MigrationReport> Migrate(const MigrateOptions& options);

}  // namespace ocisecrets
