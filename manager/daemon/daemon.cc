#include "manager/daemon/daemon.h"

#include <fcntl.h>
#include <netdb.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <CLI/CLI.hpp>
#include <array>
#include <atomic>
#include <boost/asio/ssl/context.hpp>
#include <condition_variable>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <memory>
#include <span>
#include <thread>
#include <vector>

#include "manager/api/audit.h"
#include "manager/api/auth.h"
#include "manager/api/router.h"
#include "manager/api/server.h"
#include "manager/cluster/autolock.h"
#include "manager/cluster/cluster_manager.h"
#include "manager/daemon/migrate_command.h"
#include "manager/live/change_feed.h"
#include "manager/node/cdi_keeper.h"
#include "manager/node/launcher.h"
#include "manager/node/node_role.h"
#include "manager/registry/registry.h"
#include "manager/rotation/key_rotation.h"
#include "manager/store/keyring.h"
#include "manager/store/state_dir.h"
#include "manager/store/store_factory.h"
#include "manager/worker/tls_dialer.h"
#include "shared/constraint.h"
#include "shared/crypto.h"
#include "shared/file_util.h"
#include "shared/secure_buffer.h"
#include "shared/sandbox.h"
#include "shared/tls_policy.h"

#ifndef OCI_SECRETS_VERSION
#define OCI_SECRETS_VERSION "0.0.0"
#endif

namespace ocisecrets {
namespace {

void Log(const std::string& line) { std::fprintf(stderr, "oci-secretsd: %s\n", line.c_str()); }

// mkdir -p with mode for the missing components.
Status MakeDirs(const std::string& dir, mode_t mode) {
  if (dir.empty() || dir == "/") return Status::Ok();
  struct stat st {};
  if (stat(dir.c_str(), &st) == 0) {
    if (!S_ISDIR(st.st_mode)) return Status::InvalidArgument(dir + " exists and is not a directory");
    return Status::Ok();
  }
  auto slash = dir.rfind('/');
  if (slash != std::string::npos && slash > 0) RETURN_IF_ERROR(MakeDirs(dir.substr(0, slash), mode), "");
  if (mkdir(dir.c_str(), mode) != 0 && errno != EEXIST) return PosixError("mkdir " + dir, errno);
  chmod(dir.c_str(), mode);  // despite the umask
  return Status::Ok();
}

// Runs Registry::Maintain, ClusterManager::MaintainServerCert and Autolock::Maintain every
// second until stopped.
class Maintainer {
 public:
  Maintainer(Registry* registry, ClusterManager* cluster, Autolock* autolock)
      : registry_(registry), cluster_(cluster), autolock_(autolock), thread_([this] { Loop(); }) {}
  ~Maintainer() { Stop(); }
  void Stop() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      stop_ = true;
    }
    cv_.notify_all();
    if (thread_.joinable()) thread_.join();
  }

 private:
  void Loop() {
    bool failing = false;
    bool cert_failing = false;
    bool autolock_failing = false;
    std::unique_lock<std::mutex> lock(mu_);
    while (!cv_.wait_for(lock, std::chrono::seconds(1), [this] { return stop_; })) {
      lock.unlock();
      Status s = registry_->Maintain();
      if (!s.ok() && !failing) Log("lease maintenance: " + s.message());
      if (s.ok() && failing) Log("lease maintenance: recovered");
      failing = !s.ok();
      Status cert = cluster_->MaintainServerCert(Clock::now());
      if (cert.ok()) cert = cluster_->MarkSelfSeen(Clock::now());
      if (!cert.ok() && !cert_failing) Log("cluster: " + cert.message());
      cert_failing = !cert.ok();
      Status follow = autolock_->Maintain();
      if (!follow.ok() && !autolock_failing) Log(follow.message());
      autolock_failing = !follow.ok();
      lock.lock();
    }
  }
  Registry* registry_;
  ClusterManager* cluster_ = nullptr;
  Autolock* autolock_ = nullptr;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stop_ = false;
  std::thread thread_;
};

// The TLS listener's context: the cluster's current server credentials, the SSL_CTX
// rebuilt only when they change (a renewal), so a handshake costs no PEM parsing.
class TlsContextCache {
 public:
  // The cluster is set once, before the first Get().
  void set_cluster(ClusterManager* cluster) { cluster_ = cluster; }
  std::shared_ptr<boost::asio::ssl::context> Get() {
    std::shared_ptr<const ServerCredentials> creds = cluster_->server_credentials();
    if (!creds) return nullptr;
    std::lock_guard<std::mutex> lock(mu_);
    if (creds != creds_) {
      auto ctx = MakeServerSslContext(creds->cert_pem, creds->key_pem, creds->ca_pem);
      if (!ctx.ok()) {
        Log("TLS: new server certificate not usable, keeping the previous one: " +
            ctx.status().message());
        return context_;
      }
      context_ = std::make_shared<boost::asio::ssl::context>(ctx->release());
      creds_ = std::move(creds);
    }
    return context_;
  }

 private:
  ClusterManager* cluster_ = nullptr;
  std::mutex mu_;
  std::shared_ptr<const ServerCredentials> creds_;
  std::shared_ptr<boost::asio::ssl::context> context_;
};

// What the placement check knows of a node: the cluster's record, or before any cluster
// exists, this machine alone (a manager, no labels).
Result<NodeAttributes> NodeAttributesOf(ClusterManager& cluster, const std::string& local_node_id,
                                        std::string_view node_id) {
  if (!cluster.initialized()) {
    if (node_id != local_node_id) return Status::NotFound("node " + std::string(node_id) + " not found");
    std::array<char, 256> host{};
    gethostname(host.data(), host.size() - 1);
    return NodeAttributes{local_node_id, host.data(), "manager", {}};
  }
  ASSIGN_OR_RETURN(Node node, cluster.NodeById(node_id), "");
  return NodeAttributes{node.id, node.hostname, node.role, node.spec.labels};
}

}  // namespace

Result<int> ListenUnix(const std::string& path, std::optional<gid_t> group) {
  sockaddr_un addr{};
  if (path.empty() || path.front() != '/') {
    return Status::InvalidArgument("socket path '" + path + "' must be absolute");
  }
  if (path.size() >= sizeof(addr.sun_path)) {
    return Status::InvalidArgument("socket path " + path + " is " + std::to_string(path.size()) +
                                   " bytes; unix socket paths must be shorter than 108 bytes");
  }
  RETURN_IF_ERROR(MakeDirs(path.substr(0, path.rfind('/')), 0755), "socket dir");
  addr.sun_family = AF_UNIX;
  std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);

  struct stat st {};
  if (lstat(path.c_str(), &st) == 0) {
    if (!S_ISSOCK(st.st_mode)) {
      return Status::FailedPrecondition("socket path " + path +
                                        " exists and is not a socket; refusing to replace it");
    }
    int probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (probe < 0) return PosixError("socket", errno);
    int rc = connect(probe, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
    int err = errno;
    close(probe);
    if (rc == 0) {
      return Status::FailedPrecondition("another oci-secretsd is already serving on " + path);
    }
    if (err != ECONNREFUSED) return PosixError("probe existing socket " + path, err);
    if (unlink(path.c_str()) != 0) return PosixError("remove stale socket " + path, errno);
    Log("removed stale socket " + path);
  } else if (errno != ENOENT) {
    return PosixError("stat " + path, errno);
  }

  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) return PosixError("socket", errno);
  // Created 0600 (umask), widened only after ownership is right: no window where others
  // could connect.
  mode_t old_mask = umask(0177);
  int rc = bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  int err = errno;
  umask(old_mask);
  if (rc != 0) {
    close(fd);
    return PosixError("bind " + path, err);
  }
  auto fail = [&](const std::string& what) {
    int e = errno;
    close(fd);
    unlink(path.c_str());
    return PosixError(what, e);
  };
  if (group && chown(path.c_str(), static_cast<uid_t>(-1), *group) != 0) return fail("chown " + path);
  if (chmod(path.c_str(), 0660) != 0) return fail("chmod " + path);
  if (listen(fd, SOMAXCONN) != 0) return fail("listen " + path);
  return fd;
}

Result<int> ListenTcp(const std::string& addr) {
  auto colon = addr.rfind(':');
  if (colon == std::string::npos) return Status::InvalidArgument("listen address " + addr + " has no port");
  std::string host = addr.substr(0, colon);
  std::string port = addr.substr(colon + 1);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
  addrinfo* found = nullptr;
  if (int rc = getaddrinfo(host.c_str(), port.c_str(), &hints, &found); rc != 0) {
    return Status::InvalidArgument("listen address " + addr + ": " + gai_strerror(rc));
  }
  std::unique_ptr<addrinfo, decltype(&freeaddrinfo)> list(found, &freeaddrinfo);
  int fd = socket(found->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) return PosixError("socket", errno);
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  if (bind(fd, found->ai_addr, found->ai_addrlen) != 0 || listen(fd, SOMAXCONN) != 0) {
    int err = errno;
    close(fd);
    return PosixError("bind " + addr, err);
  }
  return fd;
}

Result<std::string> FindRefreshHook(const std::string& requested, const std::string& self_exe) {
  if (!requested.empty()) {
    if (requested.front() != '/') {
      return Status::InvalidArgument("--hook " + requested + ": must be an absolute path");
    }
    if (access(requested.c_str(), X_OK) != 0) return PosixError("--hook " + requested, errno);
    return requested;
  }
  std::vector<std::string> tried;
  auto slash = self_exe.rfind('/');
  if (slash != std::string::npos) tried.push_back(self_exe.substr(0, slash + 1) + "oci-secrets-hook");
  tried.emplace_back(kInstalledHookPath);
  for (const std::string& path : tried) {
    if (access(path.c_str(), X_OK) == 0) return path;
  }
  std::string where;
  for (const std::string& path : tried) where += (where.empty() ? "" : ", ") + path;
  return Status::NotFound("no oci-secrets-hook at " + where + " (--hook PATH names one)");
}

int RunDaemon(const DaemonOptions& options) {
#ifdef OCI_SECRETS_FAULT_POINTS
  if (const char* armed = std::getenv("OCI_SECRETS_FAULT_POINTS"); armed != nullptr && *armed) {
    Log(std::string("warning: a test-only fault-point build, armed: ") + armed);
  }
#endif
  // Keys and payloads must not reach a core file or another process via ptrace.
  prctl(PR_SET_DUMPABLE, 0, 0, 0, 0);
  struct rlimit no_core {0, 0};
  setrlimit(RLIMIT_CORE, &no_core);
  umask(077);
  signal(SIGPIPE, SIG_IGN);
  // The launcher of live updates, forked first: before any thread exists and before the
  // syscall filter, which forbids the exec, mount and setns a refresh needs.
  std::unique_ptr<Launcher> launcher;
  std::string live_updates_off;
  {
    std::array<char, 4096> self{};
    ssize_t n = readlink("/proc/self/exe", self.data(), self.size() - 1);
    auto hook = FindRefreshHook(options.hook_path, n > 0 ? std::string(self.data(), n) : "");
    if (!hook.ok() && !options.hook_path.empty()) {
      Log("cannot start: " + hook.status().message());
      return 1;
    }
    if (hook.ok()) {
      auto started = Launcher::Start(*hook);
      if (!started.ok()) {
        Log("cannot start: live updates: " + started.status().message());
        return 1;
      }
      launcher = std::move(*started);
    } else {
      live_updates_off = hook.status().message();
    }
  }
  if (Status s = InitSecureHeap(); !s.ok()) Log("warning: " + s.message());

  auto fail = [](const Status& s) {
    Log("cannot start: " + s.message());
    return 1;
  };
  if (options.socket.size() >= sizeof(sockaddr_un{}.sun_path)) {
    return fail(Status::InvalidArgument("socket path " + options.socket + " is " +
                                        std::to_string(options.socket.size()) +
                                        " bytes; unix socket paths must be shorter than 108 bytes"));
  }
  auto state = StateDir::Open(options.state_dir);
  if (!state.ok()) return fail(state.status());
  // This machine's node ID: the identity of every admitted unix peer, the node its
  // leases are keyed by; kept in the state dir so it survives restarts.
  auto node_id = LoadOrCreateNodeId((*state)->File("node.id"), [] { return NewObjectId(); });
  if (!node_id.ok()) return fail(node_id.status());
  auto authorizer = Authorizer::Open(options.admin_group, *node_id);
  if (!authorizer.ok()) return fail(authorizer.status().WithContext("--admin-group"));
  StoreOptions store_options;
  store_options.engine = options.store;
  store_options.sqlite_path = (*state)->File("store.db");
  store_options.etcd_endpoints = options.etcd_endpoints;
  store_options.etcd_cacert = options.etcd_cacert;
  store_options.etcd_cert = options.etcd_cert;
  store_options.etcd_key = options.etcd_key;
  store_options.etcd_prefix = options.etcd_prefix;
  auto store = OpenStore(store_options);
  if (!store.ok()) return fail(store.status().WithContext("store"));
  // The keyring starts locked; the start decision (Autolock::Start) opens it when it can.
  std::unique_ptr<Keyring> keyring = Keyring::Locked(**store);
  Autolock autolock(store->get(), keyring.get(), (*state)->File(std::string(kRootKeyFileName)));
  auto lock_reason = autolock.Start();
  if (!lock_reason.ok()) return fail(lock_reason.status());
  std::string audit_path = options.audit_log.empty() ? (*state)->File("audit.log") : options.audit_log;
  auto audit = FileAuditLog::Open(audit_path);
  if (!audit.ok()) return fail(audit.status());

  // The cluster, manager side. Its TLS listener starts once the server exists (Load
  // below, or `cluster init` later).
  Server* tls_server = nullptr;
  FileAuditLog* audit_log = audit->get();
  ClusterManager* cluster_ref = nullptr;  // the cluster below, once made
  TlsContextCache tls_context;
  ClusterManagerOptions cluster_options;
  cluster_options.local_node_id = *node_id;
  cluster_options.start_listener = [&](const std::string& addr) -> Status {
    if (tls_server == nullptr) return Status::Internal("TLS listener asked for before the server exists");
    ASSIGN_OR_RETURN(int fd, ListenTcp(addr), "");
    TlsServerConfig tls;
    tls.context = [&tls_context] { return tls_context.Get(); };
    ClusterManager* cluster = cluster_ref;
    tls.identify = [cluster](X509* cert, std::string_view peer) { return cluster->IdentifyPeer(cert, peer); };
    tls.still_valid = [cluster](const Identity& id) { return cluster->StillValid(id); };
    tls.refused = [audit_log](std::string_view peer, std::string_view reason) {
      Identity who;
      who.kind = Identity::Kind::kCertificate;
      who.transport = Identity::Transport::kTls;
      who.peer_addr = std::string(peer);
      AuditEvent e;
      e.action = "tls.refused";
      e.status = 403;
      e.error = std::string(reason);
      audit_log->Record(who, e);
    };
    if (Status s = tls_server->AddTlsListener(fd, std::move(tls)); !s.ok()) {
      close(fd);
      return s.WithContext("TLS listener on " + addr);
    }
    Log("serving mutual TLS on " + addr);
    return Status::Ok();
  };
  ManagerDialer join_dialer = options.manager_dialer ? options.manager_dialer : MakeTlsDialer();
  cluster_options.join_dialer = [join_dialer](const std::string& addr, const std::string& digest) {
    DialCredentials pinned;
    pinned.pin_ca_digest = digest;
    return join_dialer(addr, pinned);
  };
  // A manager join's root key: the keyring unlocked, root.key written unless autolock is
  // on, then what waited for the key (the cluster's Load below) runs.
  cluster_options.on_joined = [&autolock](KeyBytes root_key) {
    return autolock.UnlockWithRootKey(std::move(root_key));
  };
  ClusterManager cluster(store->get(), keyring.get(), cluster_options);
  cluster_ref = &cluster;
  tls_context.set_cluster(&cluster);

  KeyringSealer sealer(keyring.get());
  // What changed, for the node roles' long-polls (this machine's and the workers').
  ChangeFeed feed;
  RegistryOptions registry_options;
  registry_options.on_change = [&feed](const std::vector<std::string>& ids) { feed.Publish(ids); };
  registry_options.lease_ttl = options.lease_ttl;
  registry_options.new_id = [] { return NewObjectId(); };
  registry_options.local_node_id = *node_id;
  registry_options.node_attributes = [&cluster, local = *node_id](std::string_view id) {
    return NodeAttributesOf(cluster, local, id);
  };
  Registry registry(store->get(), &sealer, registry_options);
  if (Status s = registry.Load(); !s.ok()) return fail(s);

  RouterOptions router_options;
  router_options.admin_group = options.admin_group;
  router_options.version = OCI_SECRETS_VERSION;
  Router router(&registry, audit->get(), router_options);
  router.SetClusterHooks(&cluster);
  // Key rotation: a thread of its own, started once the cluster is loaded (below).
  KeyRotationOptions rotation_options;
  rotation_options.owner = *node_id;
  rotation_options.rate = options.reencrypt_rate;
  rotation_options.on_cluster_resealed = [&cluster] {
    if (Status s = cluster.RereadTokens(); !s.ok()) Log("key rotation: " + s.message());
  };
  KeyRotation rotation(store->get(), keyring.get(), rotation_options);
  router.SetKeyRotationHooks(&rotation);
  router.SetLockHooks(&autolock);
  // The worker role: active at once when this machine joined a cluster before.
  WorkerOptions worker_options;
  worker_options.state_dir = options.state_dir;
  worker_options.dialer = options.manager_dialer;
  if (!worker_options.dialer) worker_options.dialer = MakeTlsDialer();
  auto worker = Worker::Open(std::move(worker_options));
  if (!worker.ok()) return fail(worker.status());
  router.SetWorkerHooks(worker->get());
  router.SetChangeFeed(&feed);
  // The node role: follows the local hook's containers and keeps them up to date.
  NodeRoleOptions node_options;
  node_options.state_dir = options.state_dir;
  node_options.registry = &registry;
  node_options.feed = &feed;
  node_options.local_node_id = *node_id;
  node_options.worker = worker->get();
  node_options.runner = launcher.get();
  node_options.audit = audit->get();
  node_options.metrics = &router.metrics();
  node_options.log = [](const std::string& line) { Log(line); };
  auto node_role = NodeRole::Open(std::move(node_options));
  if (!node_role.ok()) return fail(node_role.status());
  router.SetNodeHooks(node_role->get());
  // The CDI spec (`oci-secrets install cdi`): kept current from the registry's services.
  CdiKeeperOptions cdi_options;
  cdi_options.state_file = (*state)->File("cdi.json");
  cdi_options.registry = &registry;
  cdi_options.feed = &feed;
  cdi_options.log = [](const std::string& line) { Log(line); };
  auto cdi = CdiKeeper::Open(std::move(cdi_options));
  if (!cdi.ok()) return fail(cdi.status());
  router.SetCdiHooks(cdi->get());
  ServerOptions server_options;
  server_options.threads = options.threads;
  Server server(&router, &*authorizer, server_options);  // handles SIGTERM/SIGINT from here
  tls_server = &server;
  if (*lock_reason == LockReason::kNotJoined) cluster.AwaitJoin();
  // What needs the root key: now when the keyring is open, else at `cluster unlock` (on
  // that request's thread; the TLS listener may start from there, as at `cluster init`).
  if (Status s = autolock.OnUnlocked([&cluster] { return cluster.Load().WithContext("cluster"); });
      !s.ok()) {
    return fail(s);
  }

  auto fd = ListenUnix(options.socket, authorizer->group_gid());
  if (!fd.ok()) return fail(fd.status());
  if (Status s = server.AddUnixListener(*fd); !s.ok()) {
    unlink(options.socket.c_str());
    return fail(s);
  }
  // Startup is done (state dir, store, keyring, audit log open; socket bound): from here a
  // bug exploited in request handling still cannot exec, ptrace, mount, load modules,
  // change namespaces or ids. Fail closed when the filter cannot be installed.
  if (options.syscall_filter) {
    if (Status s = InstallSyscallFilter(SyscallPolicy::kManager); !s.ok()) {
      unlink(options.socket.c_str());
      return fail(s.WithContext("syscall filter (--no-seccomp to run without it)"));
    }
  } else {
    Log("warning: --no-seccomp: serving without the syscall filter");
  }
  rotation.StartBackground();
  (*node_role)->Start();
  // A worker's registry does not hold the cluster's services: its CDI spec is a manager's.
  if (!(*worker)->active()) (*cdi)->Start();
  if (!live_updates_off.empty()) Log("live updates off: " + live_updates_off);
  {
    Maintainer maintainer(&registry, &cluster, &autolock);
    if (*lock_reason == LockReason::kLocked) Log("locked: waiting for oci-secrets cluster unlock");
    if (*lock_reason == LockReason::kNotJoined) {
      Log("not joined: this manager shares a store with a cluster; waiting for oci-secrets "
          "cluster join");
    }
    Log("serving on unix://" + options.socket + " (state dir " + options.state_dir + ", store " +
        registry.Engine() + ", lease ttl " + std::to_string(options.lease_ttl.count()) + "s" +
        (options.admin_group.empty() ? "" : ", admin group " + options.admin_group) +
        (options.syscall_filter ? ", seccomp on" : ", seccomp OFF") +
        ((*worker)->active() ? ", a worker of a cluster" : "") + ")");
    server.Run();
    maintainer.Stop();
  }
  (*cdi)->Stop();
  (*node_role)->Stop();
  rotation.Stop();
  unlink(options.socket.c_str());
  int code = 0;
  if (Status s = registry.Maintain(); !s.ok()) {
    Log("final lease flush: " + s.message());
    code = 1;
  }
  Log("stopped");
  return code;
}

int DaemonMain(int argc, char** argv) {
  if (argc > 1 && std::string_view(argv[1]) == "migrate") return MigrateMain(argc - 1, argv + 1);
  DaemonOptions options;
  std::string ttl = "24h";
  CLI::App app{
      "oci-secretsd: the oci-secrets manager. Keeps secrets encrypted in STATE_DIR and serves\n"
      "the HTTP API (docs/API.md) on a unix socket to the `oci-secrets` CLI and the OCI hook.\n"
      "Callers must be root or in --admin-group. SIGTERM or SIGINT stops it cleanly.\n\n"
      "Examples:\n"
      "  oci-secretsd\n"
      "  oci-secretsd --state-dir /var/lib/oci-secrets --socket /run/oci-secrets/manager.sock\n"
      "  oci-secretsd --admin-group oci-secrets-admin --lease-ttl 12h\n"
      "  oci-secretsd --store sqlite\n"
      "  oci-secretsd --store etcd --etcd-endpoints "
      "https://10.0.0.1:2379,https://10.0.0.2:2379,https://10.0.0.3:2379 \\\n"
      "      --etcd-cacert /etc/etcd/ca.pem --etcd-cert /etc/etcd/client.pem "
      "--etcd-key /etc/etcd/client-key.pem\n"
      "  oci-secretsd migrate --help        copy the store to another engine\n",
      "oci-secretsd"};
  app.add_option("--state-dir", options.state_dir,
                 "Directory of the encrypted store, root key, lock and audit log (0700, one "
                 "daemon at a time)")
      ->capture_default_str();
  app.add_option("--socket", options.socket,
                 "Unix socket to serve the API on (< 108 bytes; parent made 0755; mode 0660)")
      ->capture_default_str();
  app.add_option("--store", options.store,
                 std::string("Where secrets are kept, encrypted. Engines: ") + kStoreEngineNames +
                     ". sqlite: STATE_DIR/store.db, nothing else to run. etcd: an etcd v3 "
                     "cluster (3.4+) shared by every manager, see --etcd-endpoints")
      ->capture_default_str();
  app.add_option("--etcd-endpoints", options.etcd_endpoints,
                 "With --store etcd (required): the client URLs of the etcd members, "
                 "http(s)://HOST:PORT, comma-separated; tried in turn when one fails")
      ->delimiter(',');
  app.add_option("--etcd-cacert", options.etcd_cacert,
                 "PEM file of the CA that signed the etcd members' certificates (https)");
  app.add_option("--etcd-cert", options.etcd_cert,
                 "PEM client certificate for etcd's --client-cert-auth (with --etcd-key)");
  app.add_option("--etcd-key", options.etcd_key, "PEM private key of --etcd-cert");
  app.add_option("--etcd-prefix", options.etcd_prefix,
                 "Key prefix of this cluster's records in etcd")
      ->capture_default_str();
  app.add_option("--admin-group", options.admin_group,
                 "Group whose members may use the API besides root (also owns the socket)");
  app.add_option("--lease-ttl", ttl,
                 "How long a container's lease lives unless renewed or ended (s, m, h, d)")
      ->capture_default_str();
  app.add_option("--audit-log", options.audit_log,
                 "Audit log file, one JSON line per change and lease (default STATE_DIR/audit.log)");
  app.add_option("--reencrypt-rate", options.reencrypt_rate,
                 "Key rotation (cluster rotate-key): records re-encrypted per second in the "
                 "background")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  app.add_option("--hook", options.hook_path,
                 "The oci-secrets-hook that live updates run (`oci-secrets-hook refresh`); "
                 "default: the one beside oci-secretsd, else " +
                     std::string(kInstalledHookPath));
  app.add_option("--threads", options.threads, "Server threads (default: hardware threads)")
      ->check(CLI::Range(0, 256));
  bool no_seccomp = false;
  app.add_flag("--no-seccomp", no_seccomp,
               "Debugging only: serve without the seccomp filter. Without it a bug exploited in "
               "request handling could exec programs, ptrace, mount or load kernel modules "
               "with the daemon's root privileges");
  app.set_version_flag("--version", OCI_SECRETS_VERSION);
  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    return app.exit(e);
  }
  auto parsed = ParseDuration(ttl);
  if (!parsed.ok()) {
    std::fprintf(stderr, "oci-secretsd: --lease-ttl: %s\n", parsed.status().message().c_str());
    return 2;
  }
  options.lease_ttl = *parsed;
  if (Status s = CheckStoreEngine(options.store); !s.ok()) {
    std::fprintf(stderr, "oci-secretsd: --store: %s\n", s.message().c_str());
    return 2;
  }
  if (options.store == "etcd" && options.etcd_endpoints.empty()) {
    std::fprintf(stderr,
                 "oci-secretsd: --store etcd needs --etcd-endpoints URL,... (e.g. "
                 "--etcd-endpoints http://127.0.0.1:2379)\n");
    return 2;
  }
  options.syscall_filter = !no_seccomp;
  return RunDaemon(options);
}

}  // namespace ocisecrets
