// oci-secrets: the command line of the secrets manager.
#include "manager/cli/cli.h"

int main(int argc, char** argv) { return ocisecrets::RunCli(argc, argv); }
