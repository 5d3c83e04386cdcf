// OCI bundles for the container benchmarks: a busybox-static root filesystem, the
// config.json `runc spec` writes in substance, our hook's entries in it, and the hook's own
// config file. Shared by container_start_bench and live_update_bench.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "shared/status.h"

namespace ocisecrets::bench {

// The annotation naming the service a container's secrets come from.
inline constexpr char kServiceAnnotation[] = "org.oci-secrets.service";

// The PATH hooks (and the shim) run with, as the install commands set it.
inline constexpr char kHookEnvPath[] =
    "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

// One OCI hook entry: the binary and its argv (argv[0] included).
struct Hook {
  std::string path;
  std::vector<std::string> args;
};

// A busybox-static root filesystem at `root` with links for sh, true, cat, ls, sleep, and
// the secrets directory /run/secrets already present (the hook would otherwise create it
// in this shared directory on the first run). NotFound when /bin/busybox is missing.
Status BuildRootfs(const std::string& root);

// The OCI config of `runc spec` in substance (namespaces, mounts, masked paths, the
// default capabilities, a read-only root at `rootfs`), running `args`, with the given
// hooks (each with a fixed PATH and a 10 s timeout) and annotations.
std::string ConfigJson(const std::string& rootfs, const std::vector<std::string>& args,
                       const std::vector<Hook>& prestart, const std::vector<Hook>& poststop,
                       const std::map<std::string, std::string>& annotations);

// The hook's config file: the daemon at unix socket `socket`, a 5 s deadline, and its
// log at DIR/hook.log.
std::string HookConfigJson(const std::string& dir, const std::string& socket);

}  // namespace ocisecrets::bench
