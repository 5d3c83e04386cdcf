// Signal names as `kill -l` gives them ("SIGHUP"), for a service's UpdateSignal: the
// manager validates and stores the name, the node role sends the number. Pure functions,
// safe from any thread.
#pragma once

#include <string>
#include <string_view>

#include "shared/status.h"

namespace ocisecrets {

// The number of a standard Linux signal given by name ("SIGHUP", "HUP", any case) or by
// its decimal number ("1"). InvalidArgument "unknown signal X (use a name such as
// SIGHUP)" otherwise (real-time signals included), X cut to 32 characters.
Result<int> SignalNumber(std::string_view name);

// The canonical name of a standard signal ("SIGHUP" for 1); "" for any other number.
std::string SignalName(int number);

}  // namespace ocisecrets
