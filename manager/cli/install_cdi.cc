#include "manager/cli/install_cdi.h"

#include "shared/cdi_client.h"

namespace ocisecrets {
namespace {

Status CheckNoRoot(const InstallOptions& options) {
  if (options.root.empty()) return Status::Ok();
  return Status::InvalidArgument(
      "--root does not apply to cdi: the daemon writes the spec on its own machine");
}

std::string DeviceList(const CdiStatus& status) {
  if (status.devices.empty()) return "no services yet";
  std::string out = "devices:";
  for (const std::string& d : status.devices) out += " " + d;
  return out;
}

// "SPEC_FILE current (devices: a b): podman run --device oci-secrets.io/service=NAME IMAGE"
std::string Keeps(const CdiStatus& status) {
  return status.spec_file + " current (" + DeviceList(status) +
         "): podman run --device oci-secrets.io/service=NAME IMAGE";
}

}  // namespace

Result<InstallReport> InstallCdi(const CliContext& ctx, const InstallOptions& options,
                                 const std::string& spec_dir) {
  RETURN_IF_ERROR(CheckNoRoot(options), "install cdi");
  CdiSettings settings;
  settings.spec_dir = spec_dir;
  settings.hook_path = options.hook_path;
  settings.hook_config = options.hook_config;
  settings.hook_timeout = options.hook_timeout;
  RETURN_IF_ERROR(CheckCdiSettings(settings), "install cdi");
  ASSIGN_OR_RETURN(ApiClient client, Connect(ctx), "");
  InstallReport report;
  if (options.dry_run) {
    ASSIGN_OR_RETURN(CdiStatus now, GetCdi(client), "install cdi");
    report.changed = !now.enabled || now.spec_dir != settings.spec_dir;
    report.lines.push_back(now.enabled ? "the daemon keeps " + Keeps(now)
                                       : "the daemon keeps no CDI spec");
    if (report.changed) {
      report.lines.push_back("would make it keep " + spec_dir + " current instead");
    }
    return report;
  }
  ASSIGN_OR_RETURN(CdiStatus status, EnableCdi(client, settings), "install cdi");
  report.changed = status.changed;
  report.lines.push_back((status.changed ? "the daemon now keeps " : "the daemon already keeps ") +
                         Keeps(status));
  return report;
}

Result<InstallReport> UninstallCdi(const CliContext& ctx, const InstallOptions& options) {
  RETURN_IF_ERROR(CheckNoRoot(options), "uninstall cdi");
  ASSIGN_OR_RETURN(ApiClient client, Connect(ctx), "");
  InstallReport report;
  ASSIGN_OR_RETURN(CdiStatus before, GetCdi(client), "uninstall cdi");
  if (!before.enabled) {
    report.lines.push_back("the daemon keeps no CDI spec: nothing to remove");
    return report;
  }
  if (options.dry_run) {
    report.changed = true;
    report.lines.push_back("would remove " + before.spec_file +
                           " and stop the daemon keeping it");
    return report;
  }
  ASSIGN_OR_RETURN(CdiStatus after, DisableCdi(client), "uninstall cdi");
  report.changed = after.changed;
  report.lines.push_back("removed " + before.spec_file + "; the daemon no longer keeps it");
  return report;
}

}  // namespace ocisecrets
