#include "shared/secret_sax_reader.h"

#include <cstdint>
#include <exception>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>

#include "shared/time_format.h"

namespace ocisecrets {
namespace {

using nlohmann::json;

// nlohmann's SAX handler for ReadSecretsSax: builds each Secret as its events arrive, with a
// small stack of where it is (top, list, secret, Version, Spec, Labels), and refuses the
// first event the general reader (models.cc) would not read the same way.
class SecretSax {
 public:
  explicit SecretSax(bool list) : list_(list) {}

  std::vector<Secret> secrets;

  bool null() { return Scalar(Kind::kNull, nullptr, 0); }
  bool boolean(bool) { return Scalar(Kind::kOther, nullptr, 0); }
  bool number_integer(json::number_integer_t) { return Scalar(Kind::kOther, nullptr, 0); }
  bool number_unsigned(json::number_unsigned_t v) { return Scalar(Kind::kUnsigned, nullptr, v); }
  bool number_float(json::number_float_t, const std::string&) {
    return Scalar(Kind::kOther, nullptr, 0);
  }
  bool string(std::string& v) { return Scalar(Kind::kString, &v, 0); }
  bool binary(json::binary_t&) { return false; }
  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception&) {
    return false;
  }

  bool start_object(std::size_t) {
    if (skip_ > 0) return ++skip_, true;
    switch (level()) {
      case Level::kTop:
        if (list_) return false;
        return StartSecret();
      case Level::kList:
        return StartSecret();
      case Level::kSecret:
        if (field_ == Field::kVersion) return Push(Level::kVersion);
        if (field_ == Field::kDataVersion) return Push(Level::kDataVersion);
        if (field_ == Field::kSpec) return Push(Level::kSpec);
        break;
      case Level::kSpec:
        if (field_ == Field::kLabels) return Push(Level::kLabels);
        break;
      default:
        break;
    }
    return SkipUnknown();
  }
  bool end_object() {
    if (skip_ > 0) return --skip_, true;
    Level done = level();
    --depth_;
    field_ = Field::kUnknown;
    if (done == Level::kSecret) {
      // As DataVersionFrom: no "DataVersion" or no "UpdatedAt" in it: made current at the
      // creation.
      if (!data_updated_set_) current_.data.updated_at = current_.created_at;
      secrets.push_back(std::move(current_));
    }
    return true;
  }
  bool start_array(std::size_t) {
    if (skip_ > 0) return ++skip_, true;
    if (level() == Level::kTop) return list_ && Push(Level::kList);
    return SkipUnknown();
  }
  bool end_array() {
    if (skip_ > 0) return --skip_, true;
    --depth_;
    return true;
  }
  bool key(std::string& k) {
    if (skip_ > 0) return true;
    field_ = Field::kUnknown;
    switch (level()) {
      case Level::kSecret:
        if (k == "ID") return Known(Field::kId);
        if (k == "Version") return Known(Field::kVersion);
        if (k == "CreatedAt") return Known(Field::kCreatedAt);
        if (k == "UpdatedAt") return Known(Field::kUpdatedAt);
        if (k == "Spec") return Known(Field::kSpec);
        if (k == "DataVersion") return Known(Field::kDataVersion);
        return true;
      case Level::kVersion:
        if (k == "Index") return Known(Field::kIndex);
        return true;
      case Level::kDataVersion:
        if (k == "Index") return Known(Field::kDataIndex);
        if (k == "UpdatedAt") return Known(Field::kDataUpdatedAt);
        if (k == "Previous") return Known(Field::kPrevious);
        if (k == "OverlapUntil") return Known(Field::kOverlapUntil);
        if (k == "RevokedAt") return Known(Field::kRevokedAt);
        return true;
      case Level::kSpec:
        if (k == "Name") return Known(Field::kName);
        if (k == "Labels") return Known(Field::kLabels);
        return true;
      case Level::kLabels:
        label_ = std::move(k);
        field_ = Field::kLabelValue;
        return true;
      default:
        return false;
    }
  }

 private:
  enum class Level { kTop, kList, kSecret, kVersion, kDataVersion, kSpec, kLabels };
  enum class Field {
    kUnknown, kId, kVersion, kCreatedAt, kUpdatedAt, kSpec, kIndex, kName, kLabels, kLabelValue,
    kDataVersion, kDataIndex, kDataUpdatedAt, kPrevious, kOverlapUntil, kRevokedAt
  };
  enum class Kind { kNull, kString, kUnsigned, kOther };
  static constexpr int kMaxDepth = 5;

  Level level() const { return depth_ == 0 ? Level::kTop : stack_[depth_ - 1]; }
  bool Push(Level l) {
    if (depth_ == kMaxDepth) return false;
    stack_[depth_++] = l;
    seen_[depth_ - 1] = 0;
    field_ = Field::kUnknown;
    return true;
  }
  bool StartSecret() {
    current_ = Secret{};
    data_updated_set_ = false;
    return Push(Level::kSecret);
  }
  // A field SecretFrom reads: twice in one object is left to the DOM path (last one wins).
  bool Known(Field f) {
    unsigned bit = 1u << static_cast<unsigned>(f);
    if (seen_[depth_ - 1] & bit) return false;
    seen_[depth_ - 1] |= bit;
    field_ = f;
    return true;
  }
  // An object or array as the value of a field SecretFrom ignores is skipped whole.
  bool SkipUnknown() {
    if (field_ != Field::kUnknown) return false;
    if (level() == Level::kTop || level() == Level::kList || level() == Level::kLabels) {
      return false;
    }
    skip_ = 1;
    return true;
  }
  bool Time(Kind kind, std::string* v, TimePoint* out) {
    if (kind == Kind::kNull) return true;
    if (kind != Kind::kString) return false;
    if (v->empty()) return true;
    auto t = ParseTime(*v);
    if (!t.ok()) return false;
    *out = *t;
    return true;
  }
  static bool Uint(Kind kind, std::uint64_t u, std::uint64_t* out) {
    if (kind == Kind::kUnsigned) *out = u;
    return kind == Kind::kUnsigned || kind == Kind::kNull;
  }
  bool Scalar(Kind kind, std::string* v, std::uint64_t u) {
    if (skip_ > 0) return true;
    const Field f = field_;
    field_ = Field::kUnknown;
    switch (level()) {
      case Level::kSecret:
        switch (f) {
          case Field::kId:
            if (kind == Kind::kString) current_.id = std::move(*v);
            return kind == Kind::kString || kind == Kind::kNull;
          case Field::kCreatedAt:
            return Time(kind, v, &current_.created_at);
          case Field::kUpdatedAt:
            return Time(kind, v, &current_.updated_at);
          case Field::kVersion:
          case Field::kDataVersion:
            return kind == Kind::kNull;
          case Field::kSpec:
            return false;  // SecretFrom wants an object, even rather than null
          default:
            return true;
        }
      case Level::kVersion:
        if (f != Field::kIndex) return true;
        return Uint(kind, u, &current_.version);
      case Level::kDataVersion:
        switch (f) {
          case Field::kDataIndex:
            return Uint(kind, u, &current_.data.index);
          case Field::kPrevious:
            return Uint(kind, u, &current_.data.previous);
          case Field::kDataUpdatedAt:
            // A null or empty UpdatedAt is "not given", as for the general reader.
            if (!Time(kind, v, &current_.data.updated_at)) return false;
            data_updated_set_ = kind == Kind::kString && !v->empty();
            return true;
          case Field::kOverlapUntil:
            return Time(kind, v, &current_.data.overlap_until);
          case Field::kRevokedAt:
            return Time(kind, v, &current_.data.revoked_at);
          default:
            return true;
        }
      case Level::kSpec:
        if (f == Field::kName) {
          if (kind == Kind::kString) current_.spec.name = std::move(*v);
          return kind == Kind::kString || kind == Kind::kNull;
        }
        if (f == Field::kLabels) return kind == Kind::kNull;
        return true;
      case Level::kLabels:
        if (kind != Kind::kString) return false;
        current_.spec.labels[label_] = std::move(*v);
        return true;
      default:
        return false;  // a bare value where an object or array belongs
    }
  }

  const bool list_;
  Level stack_[kMaxDepth] = {};
  unsigned seen_[kMaxDepth] = {};
  int depth_ = 0;
  int skip_ = 0;  // > 0: inside an ignored value, this many levels deep
  Field field_ = Field::kUnknown;
  std::string label_;
  Secret current_;
  bool data_updated_set_ = false;  // current_'s DataVersion.UpdatedAt was given
};

}  // namespace

bool ReadSecretsSax(std::string_view text, bool list, std::vector<Secret>* out) {
  SecretSax sax(list);
  try {
    if (!json::sax_parse(text.begin(), text.end(), &sax)) return false;
  } catch (const std::exception&) {
    return false;
  }
  if (!list && sax.secrets.size() != 1) return false;
  *out = std::move(sax.secrets);
  return true;
}

}  // namespace ocisecrets
