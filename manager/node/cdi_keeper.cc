#include "manager/node/cdi_keeper.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdio>

#include "manager/node/cdi_spec.h"
#include "shared/file_util.h"

namespace ocisecrets {
namespace {

constexpr std::size_t kMaxStateFileBytes = 64 * 1024;

CdiStatus DisabledStatus(bool changed) {
  CdiStatus status;
  status.changed = changed;
  return status;
}

}  // namespace

Result<std::unique_ptr<CdiKeeper>> CdiKeeper::Open(CdiKeeperOptions options) {
  if (options.registry == nullptr || options.feed == nullptr) {
    return Status::InvalidArgument("CDI keeper: a registry and a change feed are required");
  }
  if (!options.log) {
    options.log = [](const std::string& line) { std::fprintf(stderr, "%s\n", line.c_str()); };
  }
  std::unique_ptr<CdiKeeper> keeper(new CdiKeeper(std::move(options)));
  const std::string& path = keeper->options_.state_file;
  auto text = ReadFileBounded(path, kMaxStateFileBytes);
  if (text.status().code() == StatusCode::kNotFound) return keeper;
  if (!text.ok()) return text.status().WithContext("CDI state " + path);
  auto settings = ParseCdiSettings(*text);
  Status valid = settings.ok() ? CheckCdiSettings(*settings) : settings.status();
  if (!valid.ok()) {
    return Status::FailedPrecondition("CDI state " + path + " is damaged (" + valid.message() +
                                      "): fix it, or remove it and run oci-secrets install cdi");
  }
  keeper->settings_ = std::move(*settings);
  return keeper;
}

CdiKeeper::~CdiKeeper() { Stop(); }

Result<std::vector<std::string>> CdiKeeper::Devices() {
  ASSIGN_OR_RETURN(std::vector<Service> services, options_.registry->ListServices(),
                   "CDI spec: list services");
  std::vector<std::string> names;
  names.reserve(services.size());
  for (const Service& s : services) names.push_back(s.spec.name);
  std::sort(names.begin(), names.end());
  names.erase(std::unique(names.begin(), names.end()), names.end());
  return names;
}

Result<CdiStatus> CdiKeeper::EnabledStatus(const CdiSettings& settings) {
  CdiStatus status;
  status.enabled = true;
  status.spec_dir = settings.spec_dir;
  status.spec_file = CdiSpecPath(settings.spec_dir);
  ASSIGN_OR_RETURN(status.devices, Devices(), "");
  return status;
}

Result<CdiStatus> CdiKeeper::RefreshLocked(const CdiSettings& settings) {
  ASSIGN_OR_RETURN(CdiStatus status, EnabledStatus(settings), "");
  ASSIGN_OR_RETURN(status.changed,
                   WriteCdiSpec(status.spec_file, CdiSpecJson(status.devices, CdiHookOptions(settings))),
                   "");
  return status;
}

Result<CdiStatus> CdiKeeper::Enable(const CdiSettings& settings) {
  RETURN_IF_ERROR(CheckCdiSettings(settings), "");
  std::lock_guard<std::mutex> lock(mu_);
  // The new spec first: when it cannot be written, nothing is recorded.
  ASSIGN_OR_RETURN(CdiStatus status, RefreshLocked(settings), "");
  const std::string record = ToJson(settings) + "\n";
  if (settings_ && ToJson(*settings_) + "\n" == record) return status;
  RETURN_IF_ERROR(
      ReplaceFileAtomically(options_.state_file, record, 0600, geteuid(), getegid()),
      "CDI state " + options_.state_file);
  if (settings_ && CdiSpecPath(settings_->spec_dir) != status.spec_file) {
    RETURN_IF_ERROR(RemoveCdiSpec(CdiSpecPath(settings_->spec_dir)).status(),
                    "the previous CDI spec");
  }
  settings_ = settings;
  status.changed = true;
  return status;
}

Result<CdiStatus> CdiKeeper::Disable() {
  std::lock_guard<std::mutex> lock(mu_);
  if (!settings_) return DisabledStatus(false);
  RETURN_IF_ERROR(RemoveCdiSpec(CdiSpecPath(settings_->spec_dir)).status(), "");
  if (unlink(options_.state_file.c_str()) != 0 && errno != ENOENT) {
    return PosixError("remove CDI state " + options_.state_file, errno);
  }
  settings_.reset();
  return DisabledStatus(true);
}

Result<CdiStatus> CdiKeeper::Current() {
  std::lock_guard<std::mutex> lock(mu_);
  if (!settings_) return DisabledStatus(false);
  return EnabledStatus(*settings_);
}

void CdiKeeper::Start() {
  if (thread_.joinable()) return;
  thread_ = std::thread([this] { Follow(); });
}

void CdiKeeper::Stop() {
  {
    std::lock_guard<std::mutex> lock(signal_->mu);
    signal_->stop = true;
  }
  signal_->cv.notify_all();
  if (thread_.joinable()) thread_.join();
}

void CdiKeeper::Follow() {
  const std::shared_ptr<Signal> signal = signal_;
  while (true) {
    // Subscribed before looking, so that a change while writing is not missed.
    const std::uint64_t token = options_.feed->Subscribe([signal] {
      std::lock_guard<std::mutex> lock(signal->mu);
      signal->dirty = true;
      signal->cv.notify_all();
    });
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (settings_) {
        Result<CdiStatus> written = RefreshLocked(*settings_);
        if (!written.ok() && !failing_) options_.log("CDI: " + written.status().message());
        if (written.ok() && failing_) options_.log("CDI: spec written again");
        failing_ = !written.ok();
      }
    }
    std::unique_lock<std::mutex> lock(signal->mu);
    signal->cv.wait(lock, [&] { return signal->dirty || signal->stop; });
    signal->dirty = false;
    if (signal->stop) {
      lock.unlock();
      options_.feed->Unsubscribe(token);
      return;
    }
  }
}

}  // namespace ocisecrets
