// The worker's connection to a manager: HTTP over the cluster's mutual TLS
// (shared/tls_stream.h), the server required to hold a manager certificate.
#pragma once

#include "manager/worker/worker.h"

namespace ocisecrets {

// A ManagerDialer whose transports speak HTTP over TLS to the manager address: with the
// CA, certificate and key of creds (mTLS), or for the join with only creds.pin_ca_digest
// (the manager's CA checked against the token during the handshake, before any request
// byte). The server's certificate must carry the manager role. Connecting happens on the
// first RoundTrip; a malformed address or credentials make every RoundTrip fail with
// InvalidArgument naming them.
ManagerDialer MakeTlsDialer();

}  // namespace ocisecrets
