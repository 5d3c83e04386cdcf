// Getting the hook's one failure line to the person who started the container when the
// runtime swallows it. crun 1.8 gives hooks /dev/null as stdout and stderr (unless the
// container names files in run.oci.hooks.stdout/stderr) and then reports only
// "error executing hook `PATH` (exit code: 1)".
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <string_view>

namespace ocisecrets::hook {

// From a runtime's command line (/proc/PID/cmdline: arguments separated by NUL), the file
// named by its global `--log PATH` / `--log=PATH` when `--log-format json` is also given,
// as Podman's conmon runs crun and runc. nullopt when either is missing, the path is not
// absolute, or the runtime logs in another format. Only options before the subcommand count.
std::optional<std::string> RuntimeJsonLogPath(std::string_view cmdline);

// One line of the runtime's JSON log format: {"msg":..,"level":"error","time":RFC 3339}.
std::string RuntimeJsonLogLine(std::string_view message, std::string_view time);

// Relays `line` (no newline, no control characters) to the runtime `runtime_pid` that ran
// the hook with /dev/null as its stderr: to the runtime's stderr, which Podman's conmon,
// containerd's shim and a terminal read, and, for a failure that stops the container
// (`stops_container`), as an error entry in the runtime's JSON log, where Podman looks
// first. Best effort: opens only files the runtime names (never creates one), regular files
// and pipes/terminals only; any failure is ignored.
void RelayToRuntime(pid_t runtime_pid, const std::string& line, bool stops_container);

}  // namespace ocisecrets::hook
