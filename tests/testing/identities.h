// Callers for tests of the router and the cluster: a TLS peer known by its certificate,
// as the TLS listener and ClusterManager::IdentifyPeer make it.
#pragma once

#include <string>
#include <utility>

#include "manager/api/auth.h"

namespace ocisecrets::testing {

// kCertificate over kTls with the certificate's role and node ID (its CN).
inline Identity CertificateIdentity(Role role, std::string node_id) {
  Identity id;
  id.kind = Identity::Kind::kCertificate;
  id.transport = Identity::Transport::kTls;
  id.role = role;
  id.node_id = std::move(node_id);
  return id;
}

}  // namespace ocisecrets::testing
