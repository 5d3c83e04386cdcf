// oci-secretsd: the oci-secrets manager daemon. Everything lives in oci_secrets_daemon.
#include "manager/daemon/daemon.h"

int main(int argc, char** argv) { return ocisecrets::DaemonMain(argc, argv); }
