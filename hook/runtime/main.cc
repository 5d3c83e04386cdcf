// oci-secrets-runtime: a runc-compatible shim for engines without hooks.d.
#include "hook/runtime/shim.h"

int main(int argc, char** argv) { return ocisecrets::RunShim(argc, argv); }
