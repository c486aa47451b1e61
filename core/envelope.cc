#include "core/envelope.h"

#include <fmt/format.h>
#include <simdjson.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <utility>

// Check order. A record with several faults is rejected with the first one
// found, in this order, so every reader (and every sandbox) agrees on one
// reason per record:
//
//   Framing, before anything is parsed:
//    1. tombstone                 value is null
//    2. empty_value               value is ""
//    3. value_too_large           value is over kMaxValueBytes
//    4. missing_key               key is null or ""
//    5. key_not_utf8              key is not valid UTF-8
//   Envelope:
//    6. unsupported_content_type  content-type selects neither binary nor
//                                 structured mode
//    7. invalid_json              structured mode only: the value is not a
//                                 JSON object, or repeats a member name
//    8. missing_header            binary: the first absent of ce_specversion,
//                                 ce_id, ce_type, ce_source, ce_time, ce_subject
//       missing_field/wrong_type  structured: the same attributes (specversion,
//                                 id, ...) must be JSON strings
//    9. unsupported_specversion   not "1.0"
//   10. unsupported_content_type  structured only: datacontenttype present and
//                                 not JSON (wrong_type if not a string)
//   11. field_too_large           the key or an attribute
//   12. invalid_time              ce_time is not RFC 3339
//   13. subject_mismatch          ce_subject differs from the key
//   Data:
//   14. invalid_json              binary: the value is not a JSON object or
//                                 repeats a member name; structured: `data` is
//                                 absent (missing_field) or not an object
//                                 (wrong_type)
//   15. field_too_large           any string or member name in data
//   16. schema                    missing_field, wrong_type, then
//                                 schema_too_new: checked before anything else
//                                 in data, as a newer schema may change shapes
//   17. prompt_id, version, kind, actor, in this order: missing_field, then
//       wrong_type, per field
//   18. unknown_kind
//   19. type_kind_mismatch        ce_type is not prompt.lifecycle.<kind>.v1
//   20. prompt_id_mismatch        data.prompt_id differs from the key
//   21. template, dependencies, approval, evaluation, rollout, rollback, in
//       this order: missing_field if the kind requires the object; when
//       present (whatever the kind), its members in declaration order:
//       missing_field, then wrong_type, per member
//   22. invalid_value             value constraints, in the order of
//                                 CheckValues below
//
// A member whose JSON value is null counts as absent. Where a header repeats,
// the last one counts (as with librdkafka's rd_kafka_header_get_last and
// Java's Headers.lastHeader).

namespace lifeline::envelope {
namespace {

namespace dom = simdjson::dom;
using Check = std::optional<Rejection>;

constexpr std::array<std::string_view, kKindCount> kKindNames = {
    "proposed", "approved",        "rejected",    "evaluated",
    "deployed", "rollout_changed", "rolled_back", "retired",
};

constexpr std::array<std::string_view, kReasonCount> kReasonCodes = {
    "empty_value",
    "tombstone",
    "value_too_large",
    "invalid_json",
    "unsupported_content_type",
    "missing_header",
    "unsupported_specversion",
    "missing_field",
    "wrong_type",
    "unknown_kind",
    "type_kind_mismatch",
    "schema_too_new",
    "invalid_time",
    "missing_key",
    "key_not_utf8",
    "subject_mismatch",
    "prompt_id_mismatch",
    "field_too_large",
    "invalid_value",
};

constexpr std::string_view kSpecVersion = "1.0";
constexpr std::string_view kJsonType = "application/json";
constexpr std::string_view kCloudEventsType = "application/cloudevents+json";

Rejection Reject(Reason reason, std::string detail) { return Rejection{reason, std::move(detail)}; }

// ---------------------------------------------------------------------------
// Text helpers

// Strict UTF-8 (RFC 3629): no overlong forms, no surrogates, nothing above
// U+10FFFF, no truncated sequences.
bool IsUtf8(std::string_view s) {
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const size_t n = s.size();
  size_t i = 0;
  while (i < n) {
    const unsigned char c = p[i];
    if (c < 0x80) {
      ++i;
      continue;
    }
    size_t len;
    uint32_t cp;
    uint32_t min;
    if ((c & 0xE0) == 0xC0) {
      len = 2, cp = c & 0x1F, min = 0x80;
    } else if ((c & 0xF0) == 0xE0) {
      len = 3, cp = c & 0x0F, min = 0x800;
    } else if ((c & 0xF8) == 0xF0) {
      len = 4, cp = c & 0x07, min = 0x10000;
    } else {
      return false;  // a continuation byte or 0xF8..0xFF in lead position
    }
    if (n - i < len) return false;
    for (size_t k = 1; k < len; ++k) {
      if ((p[i + k] & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (p[i + k] & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    i += len;
  }
  return true;
}

char AsciiLower(char c) { return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c; }

bool EqualsIgnoreCase(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (AsciiLower(a[i]) != AsciiLower(b[i])) return false;
  }
  return true;
}

// The media type of a content-type value: parameters (";charset=...") and
// surrounding blanks dropped. Media types compare case-insensitively.
std::string_view MediaType(std::string_view content_type) {
  content_type = content_type.substr(0, content_type.find(';'));
  while (!content_type.empty() && (content_type.front() == ' ' || content_type.front() == '\t')) {
    content_type.remove_prefix(1);
  }
  while (!content_type.empty() && (content_type.back() == ' ' || content_type.back() == '\t')) {
    content_type.remove_suffix(1);
  }
  return content_type;
}

// Quotes `s` for a message; long or binary values are cut.
std::string Quote(std::string_view s) {
  constexpr size_t kMax = 64;
  std::string out = "\"";
  for (char c : s.substr(0, kMax)) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20 || u >= 0x7F || c == '"' || c == '\\') {
      out += fmt::format("\\x{:02x}", u);
    } else {
      out.push_back(c);
    }
  }
  out += s.size() > kMax ? "\"..." : "\"";
  return out;
}

// Bytes that JSON strings must escape: control characters, '"' and '\\'.
constexpr std::array<bool, 256> kNeedsEscape = [] {
  std::array<bool, 256> table{};
  for (int c = 0; c < 0x20; ++c) table[c] = true;
  table['"'] = table['\\'] = true;
  return table;
}();

// JSON string escaping with the same conventions as simdjson's serializer, so
// that a structured-mode `data` member re-serializes to the bytes DataJson
// wrote. Strings are expected to be valid UTF-8 and pass through unchanged.
void AppendJsonString(std::string* out, std::string_view s) {
  static constexpr char kHex[] = "0123456789abcdef";
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const size_t n = s.size();
  out->push_back('"');
  size_t run = 0;  // start of the pending run of bytes that need no escape
  size_t i = 0;
  while (i < n) {
    // Most strings need no escape at all: skip eight bytes at a time.
    while (i + 8 <= n &&
           !(kNeedsEscape[p[i]] | kNeedsEscape[p[i + 1]] | kNeedsEscape[p[i + 2]] |
             kNeedsEscape[p[i + 3]] | kNeedsEscape[p[i + 4]] | kNeedsEscape[p[i + 5]] |
             kNeedsEscape[p[i + 6]] | kNeedsEscape[p[i + 7]])) {
      i += 8;
    }
    while (i < n && !kNeedsEscape[p[i]]) ++i;
    if (i == n) break;
    out->append(s.data() + run, i - run);
    const unsigned char c = p[i];
    run = ++i;
    switch (c) {
      case '"':
        out->append("\\\"");
        break;
      case '\\':
        out->append("\\\\");
        break;
      case '\b':
        out->append("\\b");
        break;
      case '\t':
        out->append("\\t");
        break;
      case '\n':
        out->append("\\n");
        break;
      case '\f':
        out->append("\\f");
        break;
      case '\r':
        out->append("\\r");
        break;
      default: {
        const char escaped[6] = {'\\', 'u', '0', '0', kHex[c >> 4], kHex[c & 0xF]};
        out->append(escaped, sizeof escaped);
      }
    }
  }
  out->append(s.data() + run, n - run);
  out->push_back('"');
}

// ---------------------------------------------------------------------------
// Time

bool IsLeapYear(int64_t y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

int DaysInMonth(int64_t y, int m) {
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && IsLeapYear(y) ? 29 : kDays[m - 1];
}

// Days since 1970-01-01 of a proleptic Gregorian date (Howard Hinnant's
// days_from_civil), so no timegm, time zone or locale is involved.
int64_t DaysFromCivil(int64_t y, int m, int d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const int64_t yoe = y - era * 400;                                   // [0, 399]
  const int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;  // [0, 365]
  const int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;           // [0, 146096]
  return era * 146097 + doe - 719468;
}

void CivilFromDays(int64_t z, int64_t* y, int* m, int* d) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const int64_t doe = z - era * 146097;                                       // [0, 146096]
  const int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;  // [0, 399]
  const int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);                // [0, 365]
  const int64_t mp = (5 * doy + 2) / 153;                                     // [0, 11]
  *d = static_cast<int>(doy - (153 * mp + 2) / 5 + 1);
  *m = static_cast<int>(mp < 10 ? mp + 3 : mp - 9);
  *y = yoe + era * 400 + (*m <= 2);
}

int64_t FloorDiv(int64_t a, int64_t b) { return a / b - ((a % b != 0) && ((a < 0) != (b < 0))); }

void PutDigits(char* p, int64_t v, int n) {
  for (int i = n - 1; i >= 0; --i) {
    p[i] = static_cast<char>('0' + v % 10);
    v /= 10;
  }
}

// ---------------------------------------------------------------------------
// JSON reading

std::string_view TypeName(dom::element_type type) {
  switch (type) {
    case dom::element_type::ARRAY:
      return "an array";
    case dom::element_type::OBJECT:
      return "an object";
    case dom::element_type::INT64:
    case dom::element_type::UINT64:
      return "an integer";
    case dom::element_type::DOUBLE:
      return "a number";
    case dom::element_type::STRING:
      return "a string";
    case dom::element_type::BOOL:
      return "a boolean";
    case dom::element_type::NULL_VALUE:
      return "null";
  }
  return "unknown";
}

std::string Join(std::string_view path, std::string_view name) {
  if (path.empty()) return std::string(name);
  return fmt::format("{}.{}", path, name);
}

Rejection WrongType(std::string_view path, dom::element e, std::string_view expected) {
  return Reject(Reason::kWrongType,
                fmt::format("{} is {}, expected {}", path, TypeName(e.type()), expected));
}

Rejection Missing(std::string_view path) {
  return Reject(Reason::kMissingField, fmt::format("missing {}", path));
}

// Reads the members of one JSON object. Every accessor returns a rejection
// for a missing required member or a wrong type, and leaves `out` untouched
// when the member is absent (or null) and optional.
class ObjectReader {
 public:
  ObjectReader(dom::object object, std::string_view path) : object_(object), path_(path) {}

  // Looks `name` up; false when absent or null.
  bool Find(std::string_view name, dom::element* out) const {
    if (object_.at_key(name).get(*out) != simdjson::SUCCESS) return false;
    return !out->is_null();
  }

  Check String(std::string_view name, bool required, std::string* out) const {
    dom::element e;
    if (!Find(name, &e)) return Absent(name, required);
    std::string_view s;
    if (e.get_string().get(s) != simdjson::SUCCESS) {
      return WrongType(Join(path_, name), e, "a string");
    }
    out->assign(s);
    return std::nullopt;
  }

  // Integers beyond int64 saturate to INT64_MAX: they fail any range check.
  Check Int(std::string_view name, bool required, int64_t* out, bool* present) const {
    *present = false;
    dom::element e;
    if (!Find(name, &e)) return Absent(name, required);
    if (e.type() == dom::element_type::INT64) {
      *out = e.get_int64().value_unsafe();
    } else if (e.type() == dom::element_type::UINT64) {
      *out = std::numeric_limits<int64_t>::max();
    } else {
      return WrongType(Join(path_, name), e, "an integer");
    }
    *present = true;
    return std::nullopt;
  }

  Check Number(std::string_view name, bool required, double* out) const {
    dom::element e;
    if (!Find(name, &e)) return Absent(name, required);
    if (!e.is_number()) return WrongType(Join(path_, name), e, "a number");
    *out = e.get_double().value_unsafe();
    return std::nullopt;
  }

  Check Bool(std::string_view name, bool required, bool* out) const {
    dom::element e;
    if (!Find(name, &e)) return Absent(name, required);
    if (e.get_bool().get(*out) != simdjson::SUCCESS) {
      return WrongType(Join(path_, name), e, "a boolean");
    }
    return std::nullopt;
  }

  Check StringArray(std::string_view name, bool required, std::vector<std::string>* out) const {
    dom::element e;
    if (!Find(name, &e)) return Absent(name, required);
    dom::array array;
    if (e.get_array().get(array) != simdjson::SUCCESS) {
      return WrongType(Join(path_, name), e, "an array of strings");
    }
    out->clear();
    out->reserve(array.size());
    size_t index = 0;
    for (dom::element item : array) {
      std::string_view s;
      if (item.get_string().get(s) != simdjson::SUCCESS) {
        return WrongType(fmt::format("{}[{}]", Join(path_, name), index), item, "a string");
      }
      out->emplace_back(s);
      ++index;
    }
    return std::nullopt;
  }

  Check Object(std::string_view name, bool required, std::optional<dom::object>* out) const {
    dom::element e;
    if (!Find(name, &e)) return Absent(name, required);
    dom::object object;
    if (e.get_object().get(object) != simdjson::SUCCESS) {
      return WrongType(Join(path_, name), e, "an object");
    }
    *out = object;
    return std::nullopt;
  }

 private:
  Check Absent(std::string_view name, bool required) const {
    if (required) return Missing(Join(path_, name));
    return std::nullopt;
  }

  dom::object object_;
  std::string_view path_;
};

// Walks a JSON tree once and remembers the first repeated member name and the
// first string (value or member name) over kMaxFieldBytes, each with its path.
class TreeScan {
 public:
  // Walks `root`, forgetting what an earlier walk found (the scratch
  // vectors keep their storage: one TreeScan per thread serves every event).
  void Run(dom::element root) {
    duplicate.reset();
    too_large.reset();
    too_large_bytes = 0;
    path_.clear();
    names_.clear();
    Visit(root);
  }

  std::optional<std::string> duplicate;  // path of the repeated member
  std::optional<std::string> too_large;  // path of the oversized string
  size_t too_large_bytes = 0;

 private:
  struct Segment {
    std::string_view name;  // empty for an array element
    size_t index = 0;
  };

  std::string Path() const {
    std::string out;
    for (const Segment& s : path_) {
      if (s.name.empty()) {
        out += fmt::format("[{}]", s.index);
      } else {
        if (!out.empty()) out.push_back('.');
        out.append(s.name);
      }
    }
    return out.empty() ? std::string("(root)") : out;
  }

  void CheckSize(std::string_view s) {
    if (too_large || s.size() <= kMaxFieldBytes) return;
    too_large = Path();
    too_large_bytes = s.size();
  }

  void Visit(dom::element e) {
    switch (e.type()) {
      case dom::element_type::STRING:
        CheckSize(e.get_string().value_unsafe());
        break;
      case dom::element_type::ARRAY: {
        dom::array array;
        if (e.get_array().get(array) != simdjson::SUCCESS) break;
        size_t index = 0;
        for (dom::element item : array) {
          path_.push_back({{}, index++});
          Visit(item);
          path_.pop_back();
        }
        break;
      }
      case dom::element_type::OBJECT:
        VisitObject(e.get_object().value_unsafe());
        break;
      default:
        break;
    }
  }

  void VisitObject(dom::object object) {
    // This object's member names sit at the end of one vector shared by
    // every level, so a walk allocates only while the vector grows.
    const size_t first = names_.size();
    for (dom::key_value_pair field : object) {
      path_.push_back({field.key, 0});
      if (field.key.size() > kMaxFieldBytes && !too_large) {
        too_large = Path().substr(0, 64) + " (member name)";
        too_large_bytes = field.key.size();
      }
      Visit(field.value);
      path_.pop_back();
      names_.push_back(field.key);
    }
    const auto begin = names_.begin() + static_cast<std::ptrdiff_t>(first);
    if (!duplicate && names_.end() - begin >= 2) {
      std::sort(begin, names_.end());
      auto it = std::adjacent_find(begin, names_.end());
      if (it != names_.end()) {
        path_.push_back({*it, 0});
        duplicate = Path();
        path_.pop_back();
      }
    }
    names_.resize(first);
  }

  std::vector<Segment> path_;
  std::vector<std::string_view> names_;  // of the objects being walked
};

// Parses `json` into the thread's parser. The element lives until the next
// call on this thread. Rejects non-objects and repeated member names: readers
// disagree on which of two repeated members counts. `scan` receives the walk
// over the whole tree.
Check ParseObject(std::string_view json, std::string_view what, dom::element* out, TreeScan* scan) {
  thread_local dom::parser parser;
  simdjson::error_code error = parser.parse(json.data(), json.size()).get(*out);
  if (error != simdjson::SUCCESS) {
    return Reject(Reason::kInvalidJson,
                  fmt::format("{} is not JSON: {}", what, simdjson::error_message(error)));
  }
  if (!out->is_object()) {
    return Reject(Reason::kInvalidJson,
                  fmt::format("{} is {}, not a JSON object", what, TypeName(out->type())));
  }
  scan->Run(*out);
  if (scan->duplicate) {
    return Reject(Reason::kInvalidJson,
                  fmt::format("{} repeats member {}", what, Quote(*scan->duplicate)));
  }
  return std::nullopt;
}

// ---------------------------------------------------------------------------
// The envelope

// CloudEvents attributes, viewing into the record's headers or the parsed
// structured-mode document.
struct Attributes {
  std::string_view specversion, id, type, source, time, subject;
};

struct AttributeName {
  std::string_view header;  // binary mode
  std::string_view member;  // structured mode
  std::string_view Attributes::*field;
};

constexpr std::array<AttributeName, 6> kAttributes = {{
    {"ce_specversion", "specversion", &Attributes::specversion},
    {"ce_id", "id", &Attributes::id},
    {"ce_type", "type", &Attributes::type},
    {"ce_source", "source", &Attributes::source},
    {"ce_time", "time", &Attributes::time},
    {"ce_subject", "subject", &Attributes::subject},
}};

// The last header called `name` with a non-null value, or null.
const std::string* LastHeader(const Record& record, std::string_view name, bool ignore_case) {
  for (auto it = record.headers.rbegin(); it != record.headers.rend(); ++it) {
    const bool match = ignore_case ? EqualsIgnoreCase(it->name, name) : it->name == name;
    if (match) return it->value ? &*it->value : nullptr;
  }
  return nullptr;
}

Check DetectMode(const Record& record, ContentMode* mode) {
  const std::string* content_type = LastHeader(record, "content-type", /*ignore_case=*/true);
  if (content_type == nullptr) {
    // Binary mode written without content-type: the ce_* headers say what it is.
    const bool has_ce = std::any_of(record.headers.begin(), record.headers.end(),
                                    [](const Header& h) { return h.name.starts_with("ce_"); });
    if (!has_ce) {
      return Reject(Reason::kUnsupportedContentType, "no content-type header and no ce_* headers");
    }
    *mode = ContentMode::kBinary;
    return std::nullopt;
  }
  const std::string_view media = MediaType(*content_type);
  if (EqualsIgnoreCase(media, kJsonType)) {
    *mode = ContentMode::kBinary;
  } else if (EqualsIgnoreCase(media, kCloudEventsType)) {
    *mode = ContentMode::kStructured;
  } else {
    return Reject(Reason::kUnsupportedContentType,
                  fmt::format("content-type is {}", Quote(*content_type)));
  }
  return std::nullopt;
}

Check BinaryAttributes(const Record& record, Attributes* attrs) {
  for (const AttributeName& a : kAttributes) {
    const std::string* value = LastHeader(record, a.header, /*ignore_case=*/false);
    if (value == nullptr) {
      return Reject(Reason::kMissingHeader, fmt::format("missing header {}", a.header));
    }
    attrs->*a.field = *value;
  }
  return std::nullopt;
}

Check StructuredAttributes(dom::object root, Attributes* attrs) {
  const ObjectReader reader(root, "");
  for (const AttributeName& a : kAttributes) {
    dom::element e;
    if (!reader.Find(a.member, &e)) return Missing(a.member);
    if (e.get_string().get(attrs->*a.field) != simdjson::SUCCESS) {
      return WrongType(a.member, e, "a string");
    }
  }
  return std::nullopt;
}

Check CheckSpecVersion(const Attributes& attrs, ContentMode mode) {
  if (attrs.specversion == kSpecVersion) return std::nullopt;
  return Reject(Reason::kUnsupportedSpecVersion,
                fmt::format("{} is {}, expected \"1.0\"",
                            mode == ContentMode::kBinary ? "ce_specversion" : "specversion",
                            Quote(attrs.specversion)));
}

Check CheckDataContentType(dom::object root) {
  const ObjectReader reader(root, "");
  dom::element e;
  if (!reader.Find("datacontenttype", &e)) return std::nullopt;
  std::string_view value;
  if (e.get_string().get(value) != simdjson::SUCCESS) {
    return WrongType("datacontenttype", e, "a string");
  }
  if (EqualsIgnoreCase(MediaType(value), kJsonType)) return std::nullopt;
  return Reject(Reason::kUnsupportedContentType,
                fmt::format("datacontenttype is {}", Quote(value)));
}

Check CheckEnvelopeSizes(std::string_view key, const Attributes& attrs, ContentMode mode) {
  auto too_large = [](std::string_view name, size_t size) {
    return Reject(Reason::kFieldTooLarge,
                  fmt::format("{} is {} bytes, limit {}", name, size, kMaxFieldBytes));
  };
  if (key.size() > kMaxFieldBytes) return too_large("key", key.size());
  for (const AttributeName& a : kAttributes) {
    const std::string_view value = attrs.*a.field;
    if (value.size() > kMaxFieldBytes) {
      return too_large(mode == ContentMode::kBinary ? a.header : a.member, value.size());
    }
  }
  return std::nullopt;
}

// ---------------------------------------------------------------------------
// Data

bool Requires(Kind kind, std::string_view object) {
  switch (kind) {
    case Kind::kProposed:
      return object == "template" || object == "dependencies";
    case Kind::kApproved:
    case Kind::kRejected:
      return object == "approval";
    case Kind::kEvaluated:
      return object == "evaluation";
    case Kind::kDeployed:
    case Kind::kRolloutChanged:
      return object == "rollout";
    case Kind::kRolledBack:
      return object == "rollback";
    case Kind::kRetired:
      return false;
  }
  return false;
}

// Reads an optional or required member object with `read` filling `out`.
template <typename T, typename ReadFn>
Check ReadObject(const ObjectReader& data, Kind kind, std::string_view name, std::optional<T>* out,
                 ReadFn read) {
  std::optional<dom::object> object;
  if (Check c = data.Object(name, Requires(kind, name), &object)) return c;
  if (!object) return std::nullopt;
  T value;
  if (Check c = read(ObjectReader(*object, name), &value)) return c;
  *out = std::move(value);
  return std::nullopt;
}

Check ReadTemplate(const ObjectReader& r, Template* t) {
  if (Check c = r.String("sha256", true, &t->sha256)) return c;
  if (Check c = r.StringArray("variables", true, &t->variables)) return c;
  return r.String("text", false, &t->text);
}

Check ReadDependencies(const ObjectReader& r, Dependencies* d) {
  if (Check c = r.String("model", true, &d->model)) return c;
  if (Check c = r.String("retrieval_policy", false, &d->retrieval_policy)) return c;
  if (Check c = r.String("tool_schema", false, &d->tool_schema)) return c;
  return r.String("safety_policy", false, &d->safety_policy);
}

Check ReadApproval(const ObjectReader& r, Approval* a) {
  if (Check c = r.String("approver", true, &a->approver)) return c;
  return r.String("ticket", false, &a->ticket);
}

Check ReadEvaluation(const ObjectReader& r, Evaluation* e) {
  if (Check c = r.String("suite", true, &e->suite)) return c;
  if (Check c = r.String("dataset", false, &e->dataset)) return c;
  if (Check c = r.Bool("passed", true, &e->passed)) return c;
  return r.Number("score", false, &e->score);
}

// percent_raw keeps the unclamped value for the range check.
Check ReadRollout(const ObjectReader& r, Rollout* o, int64_t* percent_raw) {
  if (Check c = r.String("scope", true, &o->scope)) return c;
  bool present = false;
  *percent_raw = 100;
  if (Check c = r.Int("percent", false, percent_raw, &present)) return c;
  o->percent = static_cast<int>(std::clamp<int64_t>(*percent_raw, -1, 101));
  return std::nullopt;
}

Check ReadRollback(const ObjectReader& r, Rollback* b) {
  if (Check c = r.String("target_version", true, &b->target_version)) return c;
  if (Check c = r.String("reason", false, &b->reason)) return c;
  if (Check c = r.String("scope", true, &b->scope)) return c;
  return r.StringArray("expected_consumers", false, &b->expected_consumers);
}

bool IsLowerHex(std::string_view s) {
  return std::all_of(s.begin(), s.end(),
                     [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

Rejection Invalid(std::string detail) { return Reject(Reason::kInvalidValue, std::move(detail)); }

// Step 22: value constraints, envelope first, then data in member order.
Check CheckValues(const Event& e, int64_t schema, int64_t percent_raw) {
  if (e.id.empty()) return Invalid("ce_id is empty");
  if (!IsUtf8(e.id)) return Invalid("ce_id is not UTF-8");
  if (e.source.empty()) return Invalid("ce_source is empty");
  if (!IsUtf8(e.source)) return Invalid("ce_source is not UTF-8");
  if (schema < 1) return Invalid(fmt::format("schema is {}, expected >= 1", schema));
  if (e.version.empty()) return Invalid("version is empty");
  if (e.actor.empty()) return Invalid("actor is empty");
  if (e.tmpl) {
    if (e.tmpl->sha256.size() != 64 || !IsLowerHex(e.tmpl->sha256)) {
      return Invalid(fmt::format("template.sha256 is {}, expected 64 lowercase hex digits",
                                 Quote(e.tmpl->sha256)));
    }
    for (size_t i = 0; i < e.tmpl->variables.size(); ++i) {
      if (e.tmpl->variables[i].empty()) {
        return Invalid(fmt::format("template.variables[{}] is empty", i));
      }
    }
  }
  if (e.dependencies && e.dependencies->model.empty())
    return Invalid("dependencies.model is empty");
  if (e.approval && e.approval->approver.empty()) return Invalid("approval.approver is empty");
  if (e.evaluation) {
    if (e.evaluation->suite.empty()) return Invalid("evaluation.suite is empty");
    const double score = e.evaluation->score;
    if (!std::isfinite(score) || score < 0 || score > 1) {
      return Invalid(fmt::format("evaluation.score is {}, expected 0..1", score));
    }
  }
  if (e.rollout) {
    if (e.rollout->scope.empty()) return Invalid("rollout.scope is empty");
    if (percent_raw < 0 || percent_raw > 100) {
      return Invalid(fmt::format("rollout.percent is {}, expected 0..100", percent_raw));
    }
  }
  if (e.rollback) {
    if (e.rollback->target_version.empty()) return Invalid("rollback.target_version is empty");
    if (e.rollback->scope.empty()) return Invalid("rollback.scope is empty");
    if (e.rollback->target_version == e.version) {
      return Invalid(
          fmt::format("rollback.target_version is the rolled-back version {}", Quote(e.version)));
    }
    for (size_t i = 0; i < e.rollback->expected_consumers.size(); ++i) {
      if (e.rollback->expected_consumers[i].empty()) {
        return Invalid(fmt::format("rollback.expected_consumers[{}] is empty", i));
      }
    }
  }
  return std::nullopt;
}

// Whether `type` is EventType(kind), without building it (once per event).
bool IsEventType(std::string_view type, Kind kind) {
  constexpr std::string_view kPrefix = "prompt.lifecycle.", kSuffix = ".v1";
  const std::string_view name = KindName(kind);
  return type.size() == kPrefix.size() + name.size() + kSuffix.size() &&
         type.starts_with(kPrefix) && type.ends_with(kSuffix) &&
         type.substr(kPrefix.size(), name.size()) == name;
}

// Steps 15 to 22 on the `data` object; `scan` is the walk over it.
Check ParseData(dom::element data, const TreeScan& scan, std::string_view key, Event* event) {
  if (scan.too_large) {
    return Reject(Reason::kFieldTooLarge, fmt::format("{} is {} bytes, limit {}", *scan.too_large,
                                                      scan.too_large_bytes, kMaxFieldBytes));
  }

  const ObjectReader r(data.get_object().value_unsafe(), "");
  int64_t schema = 0;
  bool present = false;
  if (Check c = r.Int("schema", true, &schema, &present)) return c;
  if (schema > kSchemaVersion) {
    return Reject(Reason::kSchemaTooNew,
                  fmt::format("schema is {}, newest known is {}", schema, kSchemaVersion));
  }
  event->schema = static_cast<int>(std::max<int64_t>(schema, std::numeric_limits<int>::min()));

  std::string kind;
  if (Check c = r.String("prompt_id", true, &event->prompt_id)) return c;
  if (Check c = r.String("version", true, &event->version)) return c;
  if (Check c = r.String("kind", true, &kind)) return c;
  if (Check c = r.String("actor", true, &event->actor)) return c;

  const std::optional<Kind> parsed_kind = KindFromName(kind);
  if (!parsed_kind) {
    return Reject(Reason::kUnknownKind, fmt::format("kind is {}", Quote(kind)));
  }
  event->kind = *parsed_kind;
  if (!IsEventType(event->type, event->kind)) {
    return Reject(Reason::kTypeKindMismatch,
                  fmt::format("ce_type is {} but kind is {}", Quote(event->type), Quote(kind)));
  }
  if (event->prompt_id != key) {
    return Reject(Reason::kPromptIdMismatch, fmt::format("prompt_id is {} but the key is {}",
                                                         Quote(event->prompt_id), Quote(key)));
  }

  const Kind k = event->kind;
  int64_t percent_raw = 100;
  if (Check c = ReadObject(r, k, "template", &event->tmpl, ReadTemplate)) return c;
  if (Check c = ReadObject(r, k, "dependencies", &event->dependencies, ReadDependencies)) return c;
  if (Check c = ReadObject(r, k, "approval", &event->approval, ReadApproval)) return c;
  if (Check c = ReadObject(r, k, "evaluation", &event->evaluation, ReadEvaluation)) return c;
  auto read_rollout = [&percent_raw](const ObjectReader& o, Rollout* out) {
    return ReadRollout(o, out, &percent_raw);
  };
  if (Check c = ReadObject(r, k, "rollout", &event->rollout, read_rollout)) return c;
  if (Check c = ReadObject(r, k, "rollback", &event->rollback, ReadRollback)) return c;

  return CheckValues(*event, schema, percent_raw);
}

Check ParseFields(const Record& record, const ParseOptions& options, Event* event) {
  // 1-3: framing.
  if (!record.value) return Reject(Reason::kTombstone, "null value");
  const std::string& value = *record.value;
  if (value.empty()) return Reject(Reason::kEmptyValue, "zero-length value");
  if (value.size() > kMaxValueBytes) {
    return Reject(Reason::kValueTooLarge,
                  fmt::format("value is {} bytes, limit {}", value.size(), kMaxValueBytes));
  }
  // 4-5: key.
  if (!record.key) return Reject(Reason::kMissingKey, "null key");
  const std::string& key = *record.key;
  if (key.empty()) return Reject(Reason::kMissingKey, "empty key");
  if (!IsUtf8(key)) return Reject(Reason::kKeyNotUtf8, fmt::format("key {}", Quote(key)));

  // 6-13: envelope.
  if (Check c = DetectMode(record, &event->mode)) return c;
  Attributes attrs;
  dom::element root;  // structured mode: the whole CloudEvent
  thread_local TreeScan scan;
  if (event->mode == ContentMode::kStructured) {
    if (Check c = ParseObject(value, "value", &root, &scan)) return c;
    if (Check c = StructuredAttributes(root.get_object().value_unsafe(), &attrs)) return c;
    if (Check c = CheckSpecVersion(attrs, event->mode)) return c;
    if (Check c = CheckDataContentType(root.get_object().value_unsafe())) return c;
  } else {
    if (Check c = BinaryAttributes(record, &attrs)) return c;
    if (Check c = CheckSpecVersion(attrs, event->mode)) return c;
  }
  if (Check c = CheckEnvelopeSizes(key, attrs, event->mode)) return c;
  const std::optional<TimestampMs> time = ParseRfc3339(attrs.time);
  if (!time) {
    return Reject(Reason::kInvalidTime, fmt::format("time is {}, not RFC 3339", Quote(attrs.time)));
  }
  if (attrs.subject != key) {
    return Reject(Reason::kSubjectMismatch,
                  fmt::format("subject is {} but the key is {}", Quote(attrs.subject), Quote(key)));
  }
  event->id.assign(attrs.id);
  event->source.assign(attrs.source);
  event->type.assign(attrs.type);
  event->time.assign(attrs.time);
  event->time_ms = *time;
  event->subject.assign(attrs.subject);

  // 14: the data object.
  dom::element data;
  if (event->mode == ContentMode::kStructured) {
    const ObjectReader reader(root.get_object().value_unsafe(), "");
    std::optional<dom::object> object;
    if (Check c = reader.Object("data", true, &object)) return c;
    data = root.at_key("data").value_unsafe();
    if (options.keep_data_json) event->data_json = simdjson::minify(data);
    scan.Run(data);  // the attributes are sized already; only data counts now
  } else {
    if (Check c = ParseObject(value, "value", &data, &scan)) return c;
    if (options.keep_data_json) event->data_json = value;
  }
  // 15-22.
  return ParseData(data, scan, key, event);
}

// ---------------------------------------------------------------------------
// Writing

// A minimal JSON object writer: members are appended in call order.
class JsonWriter {
 public:
  explicit JsonWriter(std::string* out) : out_(out) {}

  void Begin() {
    out_->push_back('{');
    first_ = true;
  }
  void End() {
    out_->push_back('}');
    first_ = false;
  }
  void Key(std::string_view name) {
    if (!first_) out_->push_back(',');
    first_ = false;
    AppendJsonString(out_, name);
    out_->push_back(':');
  }
  void BeginObject(std::string_view name) {
    Key(name);
    Begin();
  }
  void String(std::string_view name, std::string_view value) {
    Key(name);
    AppendJsonString(out_, value);
  }
  // Optional members are left out when empty.
  void OptionalString(std::string_view name, std::string_view value) {
    if (!value.empty()) String(name, value);
  }
  void Int(std::string_view name, int64_t value) {
    Key(name);
    fmt::format_to(std::back_inserter(*out_), "{}", value);
  }
  void Double(std::string_view name, double value) {
    Key(name);
    if (std::isfinite(value)) {
      fmt::format_to(std::back_inserter(*out_), "{}", value);
    } else {
      out_->append("null");  // JSON has no inf or NaN; Parse rejects the null
    }
  }
  void Bool(std::string_view name, bool value) {
    Key(name);
    out_->append(value ? "true" : "false");
  }
  void StringArray(std::string_view name, const std::vector<std::string>& values) {
    Key(name);
    out_->push_back('[');
    for (size_t i = 0; i < values.size(); ++i) {
      if (i > 0) out_->push_back(',');
      AppendJsonString(out_, values[i]);
    }
    out_->push_back(']');
  }
  void Raw(std::string_view name, std::string_view json) {
    Key(name);
    out_->append(json);
  }

 private:
  std::string* out_;
  bool first_ = true;
};

// Generous, so that DataJson allocates once for typical events.
size_t EstimateDataSize(const Event& e) {
  size_t n = 384 + e.prompt_id.size() + e.version.size() + e.actor.size();
  if (e.tmpl)
    n += 128 + e.tmpl->text.size() + e.tmpl->text.size() / 16 + 24 * e.tmpl->variables.size();
  if (e.dependencies) n += 192;
  return n;
}

std::string TypeOf(const Event& event) {
  return event.type.empty() ? EventType(event.kind) : event.type;
}

std::string TimeOf(const Event& event) {
  return event.time.empty() ? FormatRfc3339(event.time_ms) : event.time;
}

std::string SubjectOf(const Event& event) {
  return event.subject.empty() ? event.prompt_id : event.subject;
}

}  // namespace

std::string_view KindName(Kind kind) { return kKindNames[static_cast<size_t>(kind)]; }

std::optional<Kind> KindFromName(std::string_view name) {
  for (size_t i = 0; i < kKindNames.size(); ++i) {
    if (kKindNames[i] == name) return static_cast<Kind>(i);
  }
  return std::nullopt;
}

std::string EventType(Kind kind) { return fmt::format("prompt.lifecycle.{}.v1", KindName(kind)); }

std::string_view ReasonCode(Reason reason) { return kReasonCodes[static_cast<size_t>(reason)]; }

std::optional<Reason> ReasonFromCode(std::string_view code) {
  for (size_t i = 0; i < kReasonCodes.size(); ++i) {
    if (kReasonCodes[i] == code) return static_cast<Reason>(i);
  }
  return std::nullopt;
}

std::variant<Event, Rejection> Parse(const Record& record) {
  Event event;
  if (Check c = ParseFields(record, ParseOptions{}, &event)) return std::move(*c);
  return event;
}

std::optional<Rejection> ParseInto(const Record& record, Event* event,
                                   const ParseOptions& options) {
  // A fresh event, but with the string buffers of the last one: a field
  // missing from this list is only allocated anew, never left stale.
  std::string* const kept[] = {&event->id,      &event->source,  &event->type,
                               &event->time,    &event->subject, &event->prompt_id,
                               &event->version, &event->actor,   &event->data_json};
  std::array<std::string, std::size(kept)> buffers;
  for (size_t i = 0; i < buffers.size(); ++i) buffers[i] = std::move(*kept[i]);
  *event = Event{};
  for (size_t i = 0; i < buffers.size(); ++i) {
    *kept[i] = std::move(buffers[i]);
    kept[i]->clear();
  }
  return ParseFields(record, options, event);
}

std::string DataJson(const Event& e) {
  std::string out;
  out.reserve(EstimateDataSize(e));
  JsonWriter w(&out);
  w.Begin();
  w.Int("schema", e.schema);
  w.String("prompt_id", e.prompt_id);
  w.String("version", e.version);
  w.String("kind", KindName(e.kind));
  w.String("actor", e.actor);
  if (e.tmpl) {
    w.BeginObject("template");
    w.String("sha256", e.tmpl->sha256);
    w.StringArray("variables", e.tmpl->variables);
    w.OptionalString("text", e.tmpl->text);
    w.End();
  }
  if (e.dependencies) {
    w.BeginObject("dependencies");
    w.String("model", e.dependencies->model);
    w.OptionalString("retrieval_policy", e.dependencies->retrieval_policy);
    w.OptionalString("tool_schema", e.dependencies->tool_schema);
    w.OptionalString("safety_policy", e.dependencies->safety_policy);
    w.End();
  }
  if (e.approval) {
    w.BeginObject("approval");
    w.String("approver", e.approval->approver);
    w.OptionalString("ticket", e.approval->ticket);
    w.End();
  }
  if (e.evaluation) {
    w.BeginObject("evaluation");
    w.String("suite", e.evaluation->suite);
    w.OptionalString("dataset", e.evaluation->dataset);
    w.Bool("passed", e.evaluation->passed);
    w.Double("score", e.evaluation->score);
    w.End();
  }
  if (e.rollout) {
    w.BeginObject("rollout");
    w.String("scope", e.rollout->scope);
    w.Int("percent", e.rollout->percent);
    w.End();
  }
  if (e.rollback) {
    w.BeginObject("rollback");
    w.String("target_version", e.rollback->target_version);
    w.OptionalString("reason", e.rollback->reason);
    w.String("scope", e.rollback->scope);
    if (!e.rollback->expected_consumers.empty()) {
      w.StringArray("expected_consumers", e.rollback->expected_consumers);
    }
    w.End();
  }
  w.End();
  return out;
}

Record EncodeBinary(const Event& event) {
  Record record;
  record.key = event.prompt_id;
  record.value = DataJson(event);
  record.headers.reserve(7);
  record.headers.push_back({"ce_specversion", std::string(kSpecVersion)});
  record.headers.push_back({"ce_id", event.id});
  record.headers.push_back({"ce_type", TypeOf(event)});
  record.headers.push_back({"ce_source", event.source});
  record.headers.push_back({"ce_time", TimeOf(event)});
  record.headers.push_back({"ce_subject", SubjectOf(event)});
  record.headers.push_back({"content-type", std::string(kJsonType)});
  record.timestamp = event.time_ms;
  record.timestamp_type = TimestampType::kCreateTime;
  return record;
}

Record EncodeStructured(const Event& event) {
  Record record;
  record.key = event.prompt_id;
  std::string value;
  const std::string data = DataJson(event);
  value.reserve(data.size() + 256);
  JsonWriter w(&value);
  w.Begin();
  w.String("specversion", kSpecVersion);
  w.String("id", event.id);
  w.String("type", TypeOf(event));
  w.String("source", event.source);
  w.String("time", TimeOf(event));
  w.String("subject", SubjectOf(event));
  w.String("datacontenttype", kJsonType);
  w.Raw("data", data);
  w.End();
  record.value = std::move(value);
  record.headers.push_back({"content-type", std::string(kCloudEventsType) + "; charset=UTF-8"});
  record.timestamp = event.time_ms;
  record.timestamp_type = TimestampType::kCreateTime;
  return record;
}

std::string FormatRfc3339(TimestampMs ms) {
  // Clamp to what four year digits can say: 0000-01-01 .. 9999-12-31.
  constexpr int64_t kMin = -62167219200000;  // 0000-01-01T00:00:00.000Z
  constexpr int64_t kMax = 253402300799999;  // 9999-12-31T23:59:59.999Z
  const int64_t t = std::clamp(ms.value(), kMin, kMax);
  const int64_t days = FloorDiv(t, 86400000);
  int64_t rem = t - days * 86400000;  // [0, 86400000)
  int64_t year;
  int month, day;
  CivilFromDays(days, &year, &month, &day);
  char buf[24];  // YYYY-MM-DDTHH:MM:SS.mmmZ
  PutDigits(buf, year, 4);
  buf[4] = '-';
  PutDigits(buf + 5, month, 2);
  buf[7] = '-';
  PutDigits(buf + 8, day, 2);
  buf[10] = 'T';
  PutDigits(buf + 11, rem / 3600000, 2);
  rem %= 3600000;
  buf[13] = ':';
  PutDigits(buf + 14, rem / 60000, 2);
  rem %= 60000;
  buf[16] = ':';
  PutDigits(buf + 17, rem / 1000, 2);
  buf[19] = '.';
  PutDigits(buf + 20, rem % 1000, 3);
  buf[23] = 'Z';
  return std::string(buf, sizeof buf);
}

// RFC 3339 section 5.6 date-time: YYYY-MM-DD "T" hh:mm:ss [.fraction]
// ("Z" / ("+" / "-") hh:mm). "t" and "z" may be lower case (section 5.6 note);
// a space in place of "T" is not accepted. Fractions of any length are
// truncated to milliseconds. A leap second (:60) is accepted and lands on the
// first millisecond after :59.999, as there is no better representation in
// epoch milliseconds. "-00:00" (offset unknown) is read as UTC.
std::optional<TimestampMs> ParseRfc3339(std::string_view s) {
  size_t i = 0;
  auto number = [&](int digits, int* out) {
    if (s.size() - i < static_cast<size_t>(digits)) return false;
    int v = 0;
    for (int k = 0; k < digits; ++k) {
      const char c = s[i + k];
      if (c < '0' || c > '9') return false;
      v = v * 10 + (c - '0');
    }
    i += digits;
    *out = v;
    return true;
  };
  auto literal = [&](char a, char b) {
    if (i >= s.size() || (s[i] != a && s[i] != b)) return false;
    ++i;
    return true;
  };

  int year, month, day, hour, minute, second;
  if (!number(4, &year) || !literal('-', '-') || !number(2, &month) || !literal('-', '-') ||
      !number(2, &day) || !literal('T', 't') || !number(2, &hour) || !literal(':', ':') ||
      !number(2, &minute) || !literal(':', ':') || !number(2, &second)) {
    return std::nullopt;
  }
  int64_t millis = 0;
  if (literal('.', '.')) {
    int digits = 0;
    while (i < s.size() && s[i] >= '0' && s[i] <= '9') {
      if (digits < 3) millis = millis * 10 + (s[i] - '0');
      ++digits;
      ++i;
    }
    if (digits == 0) return std::nullopt;
    for (int k = digits; k < 3; ++k) millis *= 10;
  }
  int offset_minutes = 0;
  if (!literal('Z', 'z')) {
    if (i >= s.size() || (s[i] != '+' && s[i] != '-')) return std::nullopt;
    const int sign = s[i] == '-' ? -1 : 1;
    ++i;
    int oh, om;
    if (!number(2, &oh) || !literal(':', ':') || !number(2, &om)) return std::nullopt;
    if (oh > 23 || om > 59) return std::nullopt;
    offset_minutes = sign * (oh * 60 + om);
  }
  if (i != s.size()) return std::nullopt;
  if (month < 1 || month > 12 || day < 1 || day > DaysInMonth(year, month) || hour > 23 ||
      minute > 59 || second > 60) {
    return std::nullopt;
  }
  const int64_t seconds = DaysFromCivil(year, month, day) * 86400 + int64_t{hour} * 3600 +
                          int64_t{minute} * 60 + second - int64_t{offset_minutes} * 60;
  return TimestampMs(seconds * 1000 + millis);
}

}  // namespace lifeline::envelope
