#include "shared/canonical_reader.h"

#include <charconv>
#include <cstdint>
#include <cstring>
#include <string>

#include "shared/base64.h"
#include "shared/time_format.h"

namespace ocisecrets {
namespace {

// The reader behind the functions of the header: a cursor over the text, each step false
// when the text is not what the writers give at that point.
class CanonicalReader {
 public:
  explicit CanonicalReader(std::string_view text)
      : p_(text.data()), end_(text.data() + text.size()) {}

  bool AtEnd() const { return p_ == end_; }

  bool Lit(std::string_view lit) {
    if (static_cast<std::size_t>(end_ - p_) < lit.size() ||
        std::memcmp(p_, lit.data(), lit.size()) != 0) {
      return false;
    }
    p_ += lit.size();
    return true;
  }

  bool Plain(std::string_view* out) {
    if (p_ == end_ || *p_ != '"') return false;
    const char* start = ++p_;
    for (; p_ < end_ && *p_ != '"'; ++p_) {
      unsigned char c = static_cast<unsigned char>(*p_);
      if (c < 0x20 || c >= 0x7f || c == '\\') return false;
    }
    if (p_ == end_) return false;
    *out = std::string_view(start, static_cast<std::size_t>(p_ - start));
    ++p_;
    return true;
  }

  bool Str(std::string* out) {
    std::string_view v;
    if (!Plain(&v)) return false;
    out->assign(v);
    return true;
  }

  // JSON's unsigned integer: no leading zero, no sign, fits 64 bits.
  bool Uint(std::uint64_t* out) {
    const char* start = p_;
    while (p_ < end_ && *p_ >= '0' && *p_ <= '9') ++p_;
    if (p_ == start || (*start == '0' && p_ - start > 1)) return false;
    auto [ptr, ec] = std::from_chars(start, p_, *out);
    return ec == std::errc() && ptr == p_;
  }

  // A secret as ToJson(const Secret&) writes it.
  // A record written before data versions (no "DataVersion") reads as version 1, made
  // current at the creation, as the general reader has it.
  bool ReadSecret(Secret* s) {
    std::string_view created, updated;
    if (!Lit("{\"CreatedAt\":") || !Plain(&created) || !Time(created, &s->created_at)) {
      return false;
    }
    s->data = SecretData{};
    s->data.updated_at = s->created_at;
    if (Lit(",\"DataVersion\":") && !ReadDataVersion(&s->data)) return false;
    if (!Lit(",\"ID\":") || !Str(&s->id) ||
        !Lit(",\"Spec\":{\"Driver\":null,\"Labels\":{")) {
      return false;
    }
    if (!Lit("}")) {
      do {
        std::string_view k, v;
        if (!Plain(&k) || !Lit(":") || !Plain(&v)) return false;
        s->spec.labels.insert_or_assign(std::string(k), std::string(v));  // last one wins
      } while (Lit(","));
      if (!Lit("}")) return false;
    }
    return Lit(",\"Name\":") && Str(&s->spec.name) && Lit("},\"UpdatedAt\":") &&
           Plain(&updated) && Lit(",\"Version\":{\"Index\":") && Uint(&s->version) &&
           Lit("}}") && Time(updated, &s->updated_at);
  }

  // {"Index":N[,"OverlapUntil":T][,"Previous":M][,"RevokedAt":T],"UpdatedAt":T}
  bool ReadDataVersion(SecretData* d) {
    if (!Lit("{\"Index\":") || !Uint(&d->index)) return false;
    if (Lit(",\"OverlapUntil\":") && !QuotedTime(&d->overlap_until)) return false;
    if (Lit(",\"Previous\":") && !Uint(&d->previous)) return false;
    if (Lit(",\"RevokedAt\":") && !QuotedTime(&d->revoked_at)) return false;
    return Lit(",\"UpdatedAt\":") && QuotedTime(&d->updated_at) && Lit("}");
  }

  // A lease request as ToJson writes it, the whole text.
  // The hook's form (with Pid, DefaultSecretsDir, TmpfsSize) is every container start's.
  bool ReadLeaseRequest(LeaseRequest* r) {
    if (!Lit("{\"ContainerID\":") || !Str(&r->container_id)) return false;
    if (Lit(",\"DefaultSecretsDir\":") && !Str(&r->default_secrets_dir)) return false;
    if (Lit(",\"NodeID\":") && !Str(&r->node_id)) return false;
    if (Lit(",\"Pid\":")) {
      std::uint64_t pid = 0;
      if (!Uint(&pid) || pid > kMaxLeasePid) return false;
      r->pid = static_cast<int>(pid);
    }
    if (Lit(",\"Renewal\":true")) r->renewal = true;
    if (!Lit(",\"Service\":") || !Str(&r->service)) return false;
    if (Lit(",\"TmpfsSize\":") && !Uint(&r->tmpfs_size)) return false;
    return Lit("}") && AtEnd();
  }

  // A lease grant as ToJson writes it, the whole text. Each payload is decoded from the
  // text straight into its file's SecretBytes: no DOM, no intermediate copy.
  bool ReadLeaseGrant(LeaseGrant* g) {
    std::string_view expires;
    if (!Lit("{\"ContainerID\":") || !Str(&g->container_id) || !Lit(",\"ExpiresAt\":") ||
        !Plain(&expires) || !Time(expires, &g->expires_at) || !Lit(",\"Files\":[")) {
      return false;
    }
    if (!Lit("]")) {
      do {
        LeasedFile& f = g->files.emplace_back();
        std::uint64_t gid = 0;
        std::uint64_t mode = 0;
        std::uint64_t uid = 0;
        if (!Lit("{\"Data\":") || !Base64(&f.data) || !Lit(",\"GID\":") || !Id(&gid) ||
            !Lit(",\"Mode\":") || !Uint(&mode) || mode > 07777 || !Lit(",\"Name\":") ||
            !Str(&f.name)) {
          return false;
        }
        if (Lit(",\"Previous\":true")) f.previous = true;
        if (Lit(",\"SecretID\":") && !Str(&f.secret_id)) return false;
        if (!Lit(",\"UID\":") || !Id(&uid)) return false;
        if (Lit(",\"Version\":") && !Uint(&f.version)) return false;
        if (!Lit("}")) return false;
        f.gid = static_cast<std::uint32_t>(gid);
        f.mode = static_cast<std::uint32_t>(mode);
        f.uid = static_cast<std::uint32_t>(uid);
      } while (Lit(","));
      if (!Lit("]")) return false;
    }
    if (Lit(",\"RefreshAt\":") && !QuotedTime(&g->refresh_at)) return false;
    if (Lit(",\"Revoked\":[")) {
      do {
        if (!Str(&g->revoked.emplace_back())) return false;
      } while (Lit(","));
      if (!Lit("]")) return false;
    }
    if (!Lit(",\"SecretsDir\":") || !Str(&g->secrets_dir) || !Lit(",\"Service\":") ||
        !Str(&g->service)) {
      return false;
    }
    if (Lit(",\"ServiceID\":") && !Str(&g->service_id)) return false;
    if (Lit(",\"UpdateSignal\":") && !Str(&g->update_signal)) return false;
    return Lit("}") && AtEnd();
  }

 private:
  // A uid or gid as GetId takes it (up to 2^32 - 2; -1 means "unchanged" to the kernel).
  bool Id(std::uint64_t* out) { return Uint(out) && *out <= 4294967294ULL; }

  // A quoted base64 string, decoded. The closing quote is found first; decoding then
  // refuses every byte outside the alphabet, escapes and control characters included.
  bool Base64(SecretBytes* out) {
    if (p_ == end_ || *p_ != '"') return false;
    const char* start = p_ + 1;
    const void* quote = std::memchr(start, '"', static_cast<std::size_t>(end_ - start));
    if (quote == nullptr) return false;
    p_ = static_cast<const char*>(quote) + 1;
    return Base64DecodeInto(std::string_view(start, static_cast<std::size_t>(p_ - 1 - start)), out);
  }

  // A quoted time, non-empty (see Time).
  bool QuotedTime(TimePoint* out) {
    std::string_view text;
    return Plain(&text) && Time(text, out);
  }

  // Non-empty (an empty time means "none" to SecretFrom: left to the general reader).
  static bool Time(std::string_view text, TimePoint* out) {
    if (text.empty()) return false;
    auto t = ParseTime(text);
    if (!t.ok()) return false;
    *out = *t;
    return true;
  }

  const char* p_;
  const char* end_;
};

}  // namespace

bool ReadCanonicalSecrets(std::string_view text, bool list, std::vector<Secret>* out) {
  CanonicalReader r(text);
  if (!list) return r.ReadSecret(&out->emplace_back()) && r.AtEnd();
  if (!r.Lit("[")) return false;
  if (r.Lit("]")) return r.AtEnd();
  do {
    if (!r.ReadSecret(&out->emplace_back())) return false;
  } while (r.Lit(","));
  return r.Lit("]") && r.AtEnd();
}

bool ReadCanonicalLeaseRequest(std::string_view text, LeaseRequest* out) {
  return CanonicalReader(text).ReadLeaseRequest(out);
}

bool ReadCanonicalLeaseGrant(std::string_view text, LeaseGrant* out) {
  return CanonicalReader(text).ReadLeaseGrant(out);
}

}  // namespace ocisecrets
