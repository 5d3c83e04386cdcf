// Test-only fault points: places where a deliberately broken build misbehaves on purpose,
// so that the fault run (tests/faults/) can show each of its invariants catching the
// violation it guards. They exist only in a tree configured with
// -DOCI_SECRETS_FAULT_POINTS=ON (packaging/faults.sh --break builds one, build-faults/);
// in every other build OCI_FAULT_POINT(name) is the literal `false`: each site and its
// name compile away, so no release binary or package holds one (not even the name).
//
// In a fault-point build a process arms points through its environment:
//   OCI_SECRETS_FAULT_POINTS=ack-create-before-durable,payload-to-log
// The points, each with the fault run's invariant it must trip:
//   ack-create-before-durable  manager: a create answers 201, writes nothing  acknowledged-writes
//   skip-revocation-check      manager: a removed node's certificate passes   no-lease-after-node-rm
//   partial-file               hook: half of each secret file is written      whole-reads
//   skip-live-updates          node: running containers never get a change    convergence
//   payload-to-log             manager: each created payload goes to stderr   no-payload-at-rest
//   hook-hang                  hook: sleeps an hour at prestart               starts-fail-closed
#pragma once

#include <string_view>

#ifdef OCI_SECRETS_FAULT_POINTS
#include <cstdlib>
#endif

namespace ocisecrets {

#ifdef OCI_SECRETS_FAULT_POINTS
// Whether `name` is one of the comma-separated names in $OCI_SECRETS_FAULT_POINTS.
inline bool FaultPointArmed(std::string_view name) {
  const char* armed = std::getenv("OCI_SECRETS_FAULT_POINTS");
  if (armed == nullptr) return false;
  std::string_view rest(armed);
  while (!rest.empty()) {
    const std::size_t comma = rest.find(',');
    if (rest.substr(0, comma) == name) return true;
    if (comma == std::string_view::npos) break;
    rest.remove_prefix(comma + 1);
  }
  return false;
}
#endif

}  // namespace ocisecrets

// A fault point's site: `if (OCI_FAULT_POINT("partial-file")) ...`.
#ifdef OCI_SECRETS_FAULT_POINTS
#define OCI_FAULT_POINT(name) ::ocisecrets::FaultPointArmed(name)
#else
#define OCI_FAULT_POINT(name) false
#endif
