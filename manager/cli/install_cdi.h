// `oci-secrets install cdi` and `uninstall cdi`: unlike the other engines nothing is
// written here; the daemon (the CLI's --host) keeps the CDI spec current
// (PUT/DELETE /v1/node/cdi, shared/cdi_client.h), and its state is the record, so the
// install manifest holds nothing for cdi.
#pragma once

#include <string>

#include "manager/cli/cli.h"
#include "manager/cli/install/install.h"

namespace ocisecrets {

// Asks the daemon to keep SPEC_DIR/oci-secrets.json current, its hook entries from
// options' hook path, config and timeout. The report's line says what the daemon does
// now and how to use it; changed is false when the daemon already did exactly that.
// dry_run: only asks what the daemon does now. InvalidArgument for --root (the spec is
// the daemon's machine's) and the daemon's refusals (a worker: FailedPrecondition).
Result<InstallReport> InstallCdi(const CliContext& ctx, const InstallOptions& options,
                                 const std::string& spec_dir);

// Asks the daemon to remove the spec and stop keeping it. Nothing kept: changed false.
Result<InstallReport> UninstallCdi(const CliContext& ctx, const InstallOptions& options);

}  // namespace ocisecrets
