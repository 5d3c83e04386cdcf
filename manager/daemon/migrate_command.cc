#include "manager/daemon/migrate_command.h"

#include <openssl/crypto.h>
#include <sys/stat.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <cstdio>
#include <memory>

#include "manager/store/keyring.h"
#include "manager/store/state_dir.h"
#include "manager/store/store_factory.h"
#include "shared/file_util.h"

namespace ocisecrets {
namespace {

constexpr const char* kLocationForms = "sqlite:STATE_DIR or etcd:URL[,URL...]";

bool Exists(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0;
}

std::string Describe(const StoreLocation& at) {
  if (at.engine == "sqlite") return "sqlite:" + at.dir;
  std::string out = "etcd:";
  for (std::size_t i = 0; i < at.endpoints.size(); ++i) out += (i ? "," : "") + at.endpoints[i];
  return out;
}

// A store opened for the migration, with the state dir lock that keeps a daemon off it.
struct OpenedStore {
  std::unique_ptr<StateDir> state;  // sqlite only
  std::unique_ptr<KvStore> kv;
};

Result<OpenedStore> OpenLocation(const StoreLocation& at, const MigrateCommandOptions& options,
                                 bool is_source) {
  OpenedStore opened;
  StoreOptions store;
  store.engine = at.engine;
  if (at.engine == "sqlite") {
    if (is_source && !Exists(at.dir + "/store.db")) {
      return Status::NotFound(at.dir + "/store.db does not exist: not a manager's state dir");
    }
    ASSIGN_OR_RETURN(opened.state, StateDir::Open(at.dir), "");
    store.sqlite_path = opened.state->File("store.db");
  } else {
    store.etcd_endpoints = at.endpoints;
    store.etcd_cacert = options.etcd_cacert;
    store.etcd_cert = options.etcd_cert;
    store.etcd_key = options.etcd_key;
    store.etcd_prefix = options.etcd_prefix;
  }
  ASSIGN_OR_RETURN(opened.kv, OpenStore(store), "");
  return opened;
}

// The source's root key: --root-key, else the sqlite source's root.key. An autolocked
// source keeps none: that is said first, it is what the user must change.
Result<KeyBytes> SourceRootKey(const MigrateCommandOptions& options, KvStore& source) {
  RETURN_IF_ERROR(CheckNotAutolocked(source), "");
  std::string path = options.root_key_file;
  if (path.empty()) {
    if (options.from.engine != "sqlite") {
      return Status::InvalidArgument(
          "an etcd source needs --root-key FILE (root.key from a manager's state dir)");
    }
    path = options.from.dir + "/" + std::string(kRootKeyFileName);
  }
  if (!Exists(path)) return Status::NotFound("root key " + path + " does not exist");
  // Exists: LoadOrCreateRootKey only reads it.
  return LoadOrCreateRootKey(path);
}

// A sqlite destination's root.key: absent (written after the copy) or the same key.
Status CheckDestinationRootKey(const std::string& path, const KeyBytes& root) {
  if (!Exists(path)) return Status::Ok();
  ASSIGN_OR_RETURN(KeyBytes there, LoadOrCreateRootKey(path), "");
  if (there != root) {
    return Status::FailedPrecondition(path + " holds another root key than the source's");
  }
  return Status::Ok();
}

Status WriteRootKey(const std::string& path, const KeyBytes& root) {
  std::string bytes(root.begin(), root.end());
  Status s = ReplaceFileAtomically(path, bytes, 0600, ::geteuid(), ::getegid());
  OPENSSL_cleanse(bytes.data(), bytes.size());
  return s;
}

void PrintReport(const MigrateCommandOptions& options, const MigrationReport& r) {
  std::printf(
      "migrated %zu records from %s to %s in %.1f s: %zu secrets, %zu services, %zu nodes, "
      "%zu key terms (%zu already copied by an earlier run, %zu padding txns); every payload "
      "verified at the destination\n",
      r.records, Describe(options.from).c_str(), Describe(options.to).c_str(), r.seconds,
      r.secrets, r.services, r.nodes, r.key_terms, r.resumed, r.padding_txns);
  std::string key = options.root_key_file.empty()
                        ? options.from.dir + "/" + std::string(kRootKeyFileName)
                        : options.root_key_file;
  if (options.to.engine == "sqlite") {
    std::printf("next: start the manager with oci-secretsd --state-dir %s (its root.key is in "
                "place)\n",
                options.to.dir.c_str());
    return;
  }
  std::string endpoints = Describe(options.to).substr(std::string("etcd:").size());
  std::string prefix =
      options.etcd_prefix == "/oci-secrets/" ? "" : " --etcd-prefix " + options.etcd_prefix;
  std::printf(
      "next: copy %s (mode 0600, owned by the daemon's user) into the state dir of every "
      "manager that will use this etcd, then start each with: oci-secretsd --store etcd "
      "--etcd-endpoints %s%s\n"
      "keep a copy of the root key offline: without it an etcd snapshot cannot be decrypted\n",
      key.c_str(), endpoints.c_str(), prefix.c_str());
}

}  // namespace

Result<StoreLocation> ParseStoreLocation(const std::string& text) {
  StoreLocation at;
  std::size_t colon = text.find(':');
  std::string rest = colon == std::string::npos ? "" : text.substr(colon + 1);
  at.engine = colon == std::string::npos ? text : text.substr(0, colon);
  if (at.engine == "sqlite" && !rest.empty()) {
    at.dir = rest;
    while (at.dir.size() > 1 && at.dir.back() == '/') at.dir.pop_back();
    return at;
  }
  if (at.engine == "etcd" && !rest.empty()) {
    std::size_t start = 0;
    while (start <= rest.size()) {
      std::size_t comma = rest.find(',', start);
      std::string url = rest.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
      if (!url.starts_with("http://") && !url.starts_with("https://")) {
        return Status::InvalidArgument(text + ": etcd endpoint \"" + url +
                                       "\" is not an http:// or https:// URL");
      }
      at.endpoints.push_back(url);
      if (comma == std::string::npos) break;
      start = comma + 1;
    }
    return at;
  }
  return Status::InvalidArgument(text + ": want " + kLocationForms);
}

Result<MigrationReport> RunMigrate(const MigrateCommandOptions& options) {
  if (Describe(options.from) == Describe(options.to)) {
    return Status::InvalidArgument("--from and --to name the same store");
  }
  ASSIGN_OR_RETURN(OpenedStore from, OpenLocation(options.from, options, true),
                   "--from " + Describe(options.from));
  ASSIGN_OR_RETURN(KeyBytes root, SourceRootKey(options, *from.kv), "--from " + Describe(options.from));
  ASSIGN_OR_RETURN(OpenedStore to, OpenLocation(options.to, options, false),
                   "--to " + Describe(options.to));
  std::string dest_key;
  if (options.to.engine == "sqlite") {
    dest_key = to.state->File(kRootKeyFileName);
    RETURN_IF_ERROR(CheckDestinationRootKey(dest_key, root), "--to " + Describe(options.to));
  }

  MigrateOptions migrate;
  migrate.from = from.kv.get();
  migrate.to = to.kv.get();
  migrate.root_key = root;
  migrate.progress_interval = options.progress_interval;
  migrate.progress = [](const MigrationProgress& p) {
    std::fprintf(stderr, "oci-secretsd migrate: %zu/%zu records copied\n", p.done, p.total);
    return Status::Ok();
  };
  ASSIGN_OR_RETURN(MigrationReport report, Migrate(migrate), "");
  if (!dest_key.empty() && !Exists(dest_key)) {
    RETURN_IF_ERROR(WriteRootKey(dest_key, root), "write " + dest_key);
  }
  return report;
}

int MigrateMain(int argc, char** argv) {
  MigrateCommandOptions options;
  std::string from, to;
  CLI::App app{
      "oci-secretsd migrate: copies a manager's store to another engine, keeping every "
      "secret's, service's, node's and key term's ID and Version.Index. Leases are not "
      "copied: running containers renew theirs.\n"
      "Stop every manager that uses the source first; the source is only read, and each "
      "record is verified by decrypting it at the destination. Safe to re-run after an "
      "interruption: it resumes where it stopped.\n"
      "The root key: a sqlite source's root.key is read (an etcd source: --root-key FILE); a "
      "sqlite destination gets a copy; for an etcd destination, copy it into each manager's "
      "state dir (printed at the end). An autolocked cluster must turn autolock off first: "
      "oci-secrets cluster update --autolock=false.\n\n"
      "Examples:\n"
      "  oci-secretsd migrate --from sqlite:/var/lib/oci-secrets "
      "--to etcd:https://e1:2379,https://e2:2379,https://e3:2379 \\\n"
      "      --etcd-cacert ca.pem --etcd-cert client.pem --etcd-key client-key.pem\n"
      "  oci-secretsd migrate --from etcd:https://e1:2379 --root-key /var/lib/oci-secrets/root.key "
      "--to sqlite:/var/lib/oci-secrets-new\n",
      "oci-secretsd migrate"};
  app.add_option("--from", from, std::string("The store to copy: ") + kLocationForms)->required();
  app.add_option("--to", to,
                 std::string("Where to copy it: ") + kLocationForms +
                     "; empty, or what an interrupted run left")
      ->required();
  app.add_option("--root-key", options.root_key_file,
                 "The source's root key file (default: the sqlite source's STATE_DIR/root.key)");
  app.add_option("--etcd-cacert", options.etcd_cacert, "CA certificate that signed etcd's");
  app.add_option("--etcd-cert", options.etcd_cert, "Client certificate for etcd");
  app.add_option("--etcd-key", options.etcd_key, "Client key for etcd");
  app.add_option("--etcd-prefix", options.etcd_prefix, "Key prefix of the store in etcd")
      ->capture_default_str();
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  auto parsed_from = ParseStoreLocation(from);
  auto parsed_to = ParseStoreLocation(to);
  for (const auto* p : {&parsed_from, &parsed_to}) {
    if (!p->ok()) {
      std::fprintf(stderr, "oci-secretsd migrate: %s\n", p->status().message().c_str());
      return 2;
    }
  }
  options.from = *parsed_from;
  options.to = *parsed_to;
  auto report = RunMigrate(options);
  if (!report.ok()) {
    std::fprintf(stderr, "oci-secretsd migrate: %s\n", report.status().message().c_str());
    return 1;
  }
  PrintReport(options, *report);
  return 0;
}

}  // namespace ocisecrets
