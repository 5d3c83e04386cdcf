#include "manager/store/kv_store.h"

#include <string>

namespace ocisecrets {

Status ValidateTxn(const Txn& txn) {
  if (txn.ops.size() > kMaxTxnOps || txn.compares.size() > kMaxTxnOps) {
    const bool ops = txn.ops.size() > kMaxTxnOps;
    return Status::InvalidArgument(
        "commit: a txn of " + std::to_string(ops ? txn.ops.size() : txn.compares.size()) +
        (ops ? " ops" : " compares") + " exceeds the limit of " + std::to_string(kMaxTxnOps) +
        " per txn; split it");
  }
  std::size_t bytes = 0;
  for (const Compare& c : txn.compares) {
    if (c.key.empty()) return Status::InvalidArgument("commit: compare on an empty key");
    if (c.mod_revision < 0) return Status::InvalidArgument("commit: negative compare revision");
    bytes += c.key.size();
  }
  for (const Op& op : txn.ops) {
    // An empty prefix would delete everything; nothing above us has a reason to ask that.
    if (op.key.empty()) return Status::InvalidArgument("commit: op on an empty key or prefix");
    bytes += op.key.size() + op.value.size();
  }
  if (bytes > kMaxTxnBytes) {
    return Status::InvalidArgument("commit: a txn of " + std::to_string(bytes) +
                                   " bytes exceeds the limit of " + std::to_string(kMaxTxnBytes) +
                                   " bytes per txn");
  }
  return Status::Ok();
}

}  // namespace ocisecrets
