// cluster unlock | unlock-key (autolock; the init and update flags are in
// cluster_commands.cc)
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <iostream>
#include <memory>

#include "manager/cli/commands.h"
#include "manager/cli/payload_input.h"
#include "shared/cluster_client.h"
#include "shared/secure_buffer.h"

namespace ocisecrets {
namespace {

// An unlock key is 61 characters; anything much longer is not one.
constexpr std::size_t kMaxKeyInput = 4096;

struct LockOptions {
  bool rotate = false;
  bool quiet = false;
};

// One line from the terminal on fd 0, not echoed; the prompt goes to stderr.
Result<SecretBytes> PromptWithoutEcho() {
  std::cerr << "Enter unlock key: " << std::flush;
  termios old_mode{};
  if (tcgetattr(0, &old_mode) != 0) return PosixError("stdin: tcgetattr", errno);
  termios quiet = old_mode;
  quiet.c_lflag &= ~static_cast<tcflag_t>(ECHO);
  if (tcsetattr(0, TCSAFLUSH, &quiet) != 0) return PosixError("stdin: tcsetattr", errno);
  SecretBytes line;
  Status s;
  for (;;) {
    char c = 0;
    ssize_t n = read(0, &c, 1);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) s = PosixError("read stdin", errno);
    if (n <= 0 || c == '\n') break;
    if (line.size() == kMaxKeyInput) {
      s = Status::InvalidArgument("invalid unlock key: more than 4096 characters");
      break;
    }
    line.push_back(static_cast<std::uint8_t>(c));
  }
  tcsetattr(0, TCSAFLUSH, &old_mode);
  std::cerr << "\n";
  if (!s.ok()) return s;
  return line;
}

// The key from stdin (a prompt without echo on a terminal), surrounding blanks trimmed.
Result<std::string> ReadUnlockKey() {
  SecretBytes input;
  if (isatty(0)) {
    ASSIGN_OR_RETURN(input, PromptWithoutEcho(), "");
  } else {
    ASSIGN_OR_RETURN(input, ReadPayloadFd(0, kMaxKeyInput, "stdin"), "unlock key");
  }
  auto blank = [](std::uint8_t c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; };
  std::size_t begin = 0, end = input.size();
  while (begin < end && blank(input[begin])) ++begin;
  while (end > begin && blank(input[end - 1])) --end;
  if (begin == end) {
    return Status::InvalidArgument("no unlock key on stdin: give the key that `oci-secrets cluster "
                                   "init --autolock` or `cluster unlock-key` printed");
  }
  return std::string(input.begin() + static_cast<std::ptrdiff_t>(begin),
                     input.begin() + static_cast<std::ptrdiff_t>(end));
}

Status UnlockCommand(const CliContext& ctx) {
  ASSIGN_OR_RETURN(std::string key, ReadUnlockKey(), "");
  auto client = Connect(ctx);
  Status s = client.ok() ? UnlockCluster(*client, key) : client.status();
  WipeString(key);
  RETURN_IF_ERROR(s, "");
  std::cout << "The manager is unlocked.\n";
  return Status::Ok();
}

Status UnlockKeyCommand(const CliContext& ctx, const LockOptions& o) {
  ASSIGN_OR_RETURN(ApiClient client, Connect(ctx), "");
  ASSIGN_OR_RETURN(UnlockKeyInfo info, GetUnlockKey(client, o.rotate), "");
  if (o.quiet) {
    std::cout << info.unlock_key << "\n";
  } else {
    if (o.rotate) std::cout << "Successfully rotated the manager unlock key.\n\n";
    std::string text = UnlockKeyInstructions(info.unlock_key);
    std::cout << text;
    WipeString(text);
  }
  WipeString(info.unlock_key);
  return Status::Ok();
}

}  // namespace

std::string UnlockKeyInstructions(std::string_view key) {
  return "To unlock a restarted manager, run `oci-secrets cluster unlock` and give it this "
         "key:\n\n    " +
         std::string(key) +
         "\n\nStore it safely: it is needed to unlock a restarted manager; `oci-secrets cluster "
         "unlock-key` shows it again.\n";
}

void RegisterClusterLockCommands(CLI::App& app, CliContext& ctx) {
  auto o = std::make_shared<LockOptions>();
  CLI::App* cluster = ClusterCommand(app);

  CLI::App* unlock = cluster->add_subcommand("unlock", "Unlock a manager that autolock keeps locked");
  unlock->footer(
      "With autolock on, a restarted manager keeps its root key wrapped and answers only its\n"
      "health and this command until it is given the unlock key. The key is read from stdin\n"
      "(never from the command line, where other users could see it in the process list);\n"
      "on a terminal it is asked for without echo. A wrong key is refused (exit 1).\n"
      "Examples:\n"
      "  oci-secrets cluster unlock\n"
      "  oci-secrets cluster unlock < /root/unlock.key");
  unlock->callback([&ctx] { RunOrFail([&] { return UnlockCommand(ctx); }); });

  CLI::App* key = cluster->add_subcommand("unlock-key", "Show or rotate the autolock unlock key");
  key->add_flag("--rotate", o->rotate,
                "Make a new unlock key; the old one cannot unlock any manager from now on");
  key->add_flag("-q,--quiet", o->quiet, "Only print the key");
  key->footer(
      "Autolock must be on (oci-secrets cluster init --autolock, or cluster update\n"
      "--autolock=true). After a rotation, keep the new key: a manager restarted later\n"
      "needs it.\n"
      "Examples:\n"
      "  oci-secrets cluster unlock-key\n"
      "  oci-secrets cluster unlock-key --rotate -q > /root/unlock.key");
  key->callback([&ctx, o] { RunOrFail([&] { return UnlockKeyCommand(ctx, *o); }); });
}

}  // namespace ocisecrets
