#include "hook/stages/stages.h"

#include <fcntl.h>
#include <sched.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/types.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>

#include "hook/mount/safe_path.h"
#include "hook/mount/syscalls.h"
#include "hook/mount/tmpfs_builder.h"
#include "hook/oci/id_mapping.h"
#include "hook/oci/oci_state.h"
#include "hook/stages/grant_files.h"
#include "hook/stages/hook_log.h"
#include "hook/stages/runtime_relay.h"
#include "shared/fault_point.h"
#include "shared/secure_buffer.h"
#include "shared/validation.h"

namespace ocisecrets::hook {
namespace {

using SteadyClock = std::chrono::steady_clock;

struct StageContext {
  Stage stage;
  const ConfigSource& source;
  const LeaseClientFactory& make_client;
  HookLog log;
  std::string container_id;
  std::string service;
  std::size_t files = 0;
  std::string_view service_source = kAnnotationSource;  // which opt-in named the service
};

Result<ContainerState> ReadState(int fd) {
  ASSIGN_OR_RETURN(std::string text, ReadAllBounded(fd, kMaxDocumentBytes), "read state");
  return ParseState(text);
}

// The service the container opted in to (annotation or environment variable), parsing
// config.json only when it may name one. `config` receives config.json when it was parsed.
Result<std::optional<OptIn>> FindService(const ContainerState& state,
                                         std::optional<BundleConfig>* config) {
  ASSIGN_OR_RETURN(std::string text, ReadBundleConfigText(state.bundle), "bundle");
  if (!MayNameService(text)) return ServiceOptIn(state, nullptr);
  ASSIGN_OR_RETURN(BundleConfig c, ParseBundleConfig(text, state.bundle), "bundle");
  ASSIGN_OR_RETURN(std::optional<OptIn> opt_in, ServiceOptIn(state, &c), "service");
  *config = std::move(c);
  return opt_in;
}

// Builds the tmpfs from `grant`, enters the container's mount namespace and attaches it.
// The grant's payloads are wiped by the caller.
Status MountGrant(const BundleConfig& bundle,
                  const HookConfig& config, LeaseGrant& grant, int pidfd) {
  std::string secrets_dir = grant.secrets_dir.empty() ? config.secrets_dir : grant.secrets_dir;
  if (LooksLikeWindowsPath(secrets_dir)) {
    return Status::FailedPrecondition("secrets dir " + secrets_dir +
                                      ": a Windows path, but this is a Linux container");
  }
  RETURN_IF_ERROR(ValidateContainerDir(secrets_dir), "secrets dir " + secrets_dir);
  ASSIGN_OR_RETURN(TmpfsOptions options,
                   SecretsTmpfsOptions(bundle.uid_mappings, bundle.gid_mappings,
                                       config.tmpfs_size_bytes),
                   "");
  Result<ScopedFd> mount = [&]() -> Result<ScopedFd> {
    ASSIGN_OR_RETURN(std::vector<TmpfsFile> files,
                     ToTmpfsFiles(grant.files, bundle.uid_mappings, bundle.gid_mappings,
                                  secrets_dir),
                     "files");
    return BuildSecretsTmpfs(files, options);
  }();
  WipeFiles(grant.files);  // the payloads now live only in the detached tmpfs
  if (!mount.ok()) return mount.status().WithContext("mount tmpfs");

  if (setns(pidfd, CLONE_NEWNS) != 0) {
    return PosixError("enter the container's mount namespace: setns", errno);
  }
  // From here on, paths are the container's mount namespace (before pivot_root).
  ASSIGN_OR_RETURN(ScopedFd root, OpenRootDir(bundle.root_path), "rootfs");
  DirOwner owner{options.root_uid, options.root_gid};
  ASSIGN_OR_RETURN(ScopedFd target, OpenSecretsDir(root.get(), secrets_dir, owner),
                   "secrets dir " + secrets_dir);
  RETURN_IF_ERROR(RefuseSharedMount(target.get()), "secrets dir " + secrets_dir);
  RETURN_IF_ERROR(AttachTmpfs(mount->get(), target.get()), "mount tmpfs on " + secrets_dir);
  return Status::Ok();
}

Status Create(StageContext& ctx, const ContainerState& state,
              std::optional<BundleConfig> bundle, const HookConfig& config) {
  if (state.status != "creating" && state.status != "created") {
    return Status::FailedPrecondition("state: status is \"" + state.status +
                                      "\", want creating or created");
  }
  if (ctx.service.empty()) {
    return Status::InvalidArgument(std::string(ctx.service_source) +
                                   " is empty: name a service");
  }
  if (!bundle) {
    ASSIGN_OR_RETURN(BundleConfig c, LoadBundleConfig(state.bundle), "bundle");
    bundle = std::move(c);
  }
  if (bundle->is_windows) {
    return Status::FailedPrecondition(
        "windows containers are not supported by this Linux hook (their secrets dir would be " +
        config.windows_secrets_dir + ")");
  }
  if (bundle->has_user_namespace &&
      (bundle->uid_mappings.empty() || bundle->gid_mappings.empty())) {
    return Status::FailedPrecondition(
        "user namespace without linux.uidMappings/gidMappings is not supported");
  }
  if (state.pid <= 0) return Status::InvalidArgument("state: no pid");

  // Pin the container's init process first: a recycled pid cannot redirect us later.
  ScopedFd pidfd(sys::PidfdOpen(state.pid, 0));
  if (!pidfd.valid()) return PosixError("pidfd_open " + std::to_string(state.pid), errno);

  // The manager's socket is in the host's namespaces: ask before setns.
  ASSIGN_OR_RETURN(std::unique_ptr<LeaseClient> client, ctx.make_client(config), "lease");
  LeaseRequest request{state.id, ctx.service};
  // For the node role's live updates (never forwarded to a manager).
  request.pid = state.pid;
  request.default_secrets_dir = config.secrets_dir;
  request.tmpfs_size = config.tmpfs_size_bytes;
  ASSIGN_OR_RETURN(LeaseGrant grant, client->Lease(request), "lease");
  ctx.files = grant.files.size();
  Status mounted = MountGrant(*bundle, config, grant, pidfd.get());
  WipeFiles(grant.files);
  if (!mounted.ok()) {
    // The container will not start: give the lease back now (best effort; it also
    // expires on its own). The connection was opened before setns, in the host's
    // namespaces, and is reused when the manager kept it alive.
    (void)client->EndLease(state.id);
  }
  return mounted;
}

bool IsDevNull(int fd) {
  struct stat st {};
  return fstat(fd, &st) == 0 && S_ISCHR(st.st_mode) && st.st_rdev == makedev(1, 3);
}

// crun (1.8) gives hooks /dev/null as stderr unless the container names a file in the
// annotation run.oci.hooks.stderr, and then prints only "error executing hook". So that
// the operator still reads why, the line also goes to the runtime, our parent, which ran
// us as root (runtime_relay.h).
void TellTheRuntime(const std::string& line, std::FILE* err, bool stops_container) {
  if (err != stderr || !IsDevNull(fileno(err))) return;
  RelayToRuntime(getppid(), line, stops_container);
}

int Fail(StageContext& ctx, const Status& status, std::FILE* err) {
  std::string line = std::string("oci-secrets-hook: ") + StageName(ctx.stage) + ": " +
                     status.message();
  for (char& c : line) {
    if (static_cast<unsigned char>(c) < 0x20) c = '?';
  }
  std::fprintf(err, "%s\n", line.c_str());
  std::fflush(err);
  TellTheRuntime(line, err, ctx.stage != Stage::kPoststop);
  ctx.log.Write("container=" + (ctx.container_id.empty() ? "?" : ctx.container_id) +
                " service=" + (ctx.service.empty() ? "?" : ctx.service) + " " + line);
  return 1;
}

Result<HookConfig> LoadConfig(const ConfigSource& source) {
  return LoadHookConfig(source.path, source.must_exist);
}

}  // namespace

std::optional<Stage> ParseStage(std::string_view name) {
  if (name == "prestart") return Stage::kPrestart;
  if (name == "createRuntime") return Stage::kCreateRuntime;
  if (name == "poststop") return Stage::kPoststop;
  return std::nullopt;
}

const char* StageName(Stage stage) {
  switch (stage) {
    case Stage::kPrestart:
      return "prestart";
    case Stage::kCreateRuntime:
      return "createRuntime";
    case Stage::kPoststop:
      return "poststop";
    case Stage::kFromState:
      return "hook";
  }
  return "?";
}

int RunStage(Stage stage, int state_fd, const ConfigSource& source,
             const LeaseClientFactory& make_client, std::FILE* err) {
  const auto start = SteadyClock::now();
  StageContext ctx{stage, source, make_client, {}, {}, {}, 0};
  bool poststop = stage == Stage::kPoststop;

  // Until the container is known to have opted in, a failure still needs a log: open it
  // from the configuration on the way out.
  auto fail_early = [&](const Status& s) {
    Result<HookConfig> config = LoadConfig(source);
    ctx.log.Open(config.ok() ? config->log_file : HookConfig{}.log_file);
    int code = Fail(ctx, s, err);
    return poststop ? 0 : code;
  };

  Result<ContainerState> state = ReadState(state_fd);
  if (!state.ok()) return fail_early(state.status());
  ctx.container_id = state->id;
  if (stage == Stage::kFromState) {
    if (state->status == "stopped") {
      stage = ctx.stage = Stage::kPoststop;
      poststop = true;
    } else {
      stage = ctx.stage = Stage::kPrestart;  // Create() refuses any status but creating/created
    }
  }
  std::optional<BundleConfig> bundle;
  Result<std::optional<OptIn>> service = FindService(*state, &bundle);
  if (!service.ok()) {
    if (!poststop) return fail_early(service.status());
    // The bundle may already be gone: the state's annotation still names the lease to end.
    service = ServiceOptIn(*state, nullptr);
    if (!service.ok()) return 0;
  }
  if (!service->has_value()) return 0;  // not opted in: nothing to do, nothing to ask
  ctx.service = (*service)->service;
  ctx.service_source = (*service)->source;

  Result<HookConfig> config = LoadConfig(source);
  if (!config.ok()) return fail_early(config.status());
  ctx.log.Open(config->log_file);
  if (!poststop && OCI_FAULT_POINT("hook-hang")) sleep(3600);  // test-only: shared/fault_point.h

  if (poststop) {
    Status s = [&]() -> Status {
      ASSIGN_OR_RETURN(std::unique_ptr<LeaseClient> client, make_client(*config), "end lease");
      RETURN_IF_ERROR(client->EndLease(state->id), "end lease");
      return Status::Ok();
    }();
    if (!s.ok()) {
      Fail(ctx, Status(s.code(), s.message() + " (the lease expires on its own)"), err);
      return 0;
    }
    ctx.log.Write("container=" + state->id + " service=" + ctx.service + " poststop lease ended");
    return 0;
  }

  Status s = Create(ctx, *state, std::move(bundle), *config);
  if (!s.ok()) return Fail(ctx, s, err);
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(SteadyClock::now() - start);
  ctx.log.Write("container=" + state->id + " service=" + ctx.service + " " + StageName(stage) +
                " mounted files=" + std::to_string(ctx.files) + " ms=" +
                std::to_string(ms.count()));
  return 0;
}

}  // namespace ocisecrets::hook
