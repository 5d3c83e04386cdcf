// `oci-secretsd migrate`: copies the store of a stopped manager to another engine
// (SQLite state dir to etcd and back), with manager/migrate doing the copy.
#pragma once

#include <string>
#include <vector>

#include "manager/migrate/migration.h"
#include "shared/status.h"

namespace ocisecrets {

// One side of a migration, as `--from` / `--to` spell it: "sqlite:DIR" (a state dir) or
// "etcd:URL,URL,..." (the members' client URLs).
struct StoreLocation {
  std::string engine;                   // "sqlite" or "etcd"
  std::string dir;                      // sqlite: the state dir
  std::vector<std::string> endpoints;   // etcd
};

// Parses "sqlite:DIR" or "etcd:URL,...". InvalidArgument naming what is wrong and the
// two accepted forms.
Result<StoreLocation> ParseStoreLocation(const std::string& text);

struct MigrateCommandOptions {
  StoreLocation from;
  StoreLocation to;
  std::string root_key_file;  // the source's root key; default: the sqlite source's root.key
  // TLS to etcd and the key prefix, as the daemon's --etcd-* flags.
  std::string etcd_cacert, etcd_cert, etcd_key;
  std::string etcd_prefix = "/oci-secrets/";
  std::chrono::milliseconds progress_interval{1000};
};

// Runs the migration: locks a sqlite source's state dir (FailedPrecondition "state dir
// X is in use by another oci-secretsd (pid N)" while a daemon runs on it) and a sqlite
// destination's, refuses an autolocked source, reads the root key, copies (progress
// lines on stderr), and for a sqlite destination writes its root.key (0600; an existing
// one must be the same key). Returns the report; the caller prints it.
Result<MigrationReport> RunMigrate(const MigrateCommandOptions& options);

// `oci-secretsd migrate ARGS` (argv[0] is "migrate"): flags, RunMigrate, the report on
// stdout. Exit 0 done, 1 failed (one line on stderr), 2 usage.
int MigrateMain(int argc, char** argv);

}  // namespace ocisecrets
