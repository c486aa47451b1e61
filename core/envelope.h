// The prompt lifecycle event (docs/events.md): parse a Kafka
// record in CloudEvents binary or structured content mode, validate it per
// kind, and encode events in binary mode. Every rejection carries a stable
// reason code; the codes are stored in sandboxes and manifests, so never
// rename one.
//
// Thread-safety: all functions are pure and reentrant.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "core/record.h"
#include "core/types.h"

namespace lifeline::envelope {

// The newest `schema` this build understands.
inline constexpr int kSchemaVersion = 1;
// Any single string field longer than this is rejected as absurd.
inline constexpr size_t kMaxFieldBytes = size_t{64} * 1024;
// A whole value larger than this is rejected before parsing.
inline constexpr size_t kMaxValueBytes = size_t{1024} * 1024;

enum class Kind {
  kProposed,
  kApproved,
  kRejected,
  kEvaluated,
  kDeployed,
  kRolloutChanged,
  kRolledBack,
  kRetired,
};
inline constexpr int kKindCount = 8;

std::string_view KindName(Kind kind);  // "proposed", "rolled_back", ...
std::optional<Kind> KindFromName(std::string_view name);
// The ce_type for a kind: "prompt.lifecycle.<kind>.v1".
std::string EventType(Kind kind);

enum class Reason {
  kEmptyValue,              // "empty_value": zero-length value
  kTombstone,               // "tombstone": null value on the lifecycle stream
  kValueTooLarge,           // "value_too_large": value over kMaxValueBytes
  kInvalidJson,             // "invalid_json": not parseable JSON, or not an object
  kUnsupportedContentType,  // "unsupported_content_type"
  kMissingHeader,           // "missing_header": a required ce_* header is absent (binary mode)
  kUnsupportedSpecVersion,  // "unsupported_specversion": ce_specversion is not 1.0
  kMissingField,            // "missing_field": a required field is absent
  kWrongType,               // "wrong_type": a field has the wrong JSON type
  kUnknownKind,             // "unknown_kind": kind is not one of the eight
  kTypeKindMismatch,        // "type_kind_mismatch": ce_type does not name data.kind
  kSchemaTooNew,            // "schema_too_new": schema > kSchemaVersion
  kInvalidTime,             // "invalid_time": ce_time is not RFC 3339
  kMissingKey,              // "missing_key": null or empty record key
  kKeyNotUtf8,              // "key_not_utf8"
  kSubjectMismatch,         // "subject_mismatch": ce_subject differs from the key
  kPromptIdMismatch,        // "prompt_id_mismatch": data.prompt_id differs from the key
  kFieldTooLarge,           // "field_too_large": a string over kMaxFieldBytes
  kInvalidValue,            // "invalid_value": e.g. percent outside 0..100, score not finite
};
inline constexpr int kReasonCount = 19;

std::string_view ReasonCode(Reason reason);
std::optional<Reason> ReasonFromCode(std::string_view code);

enum class ContentMode { kBinary, kStructured };

struct Template {
  std::string sha256;
  std::vector<std::string> variables;
  std::string text;  // optional: the template body; sha256 is its digest when present
  friend bool operator==(const Template&, const Template&) = default;
};

struct Dependencies {
  std::string model;
  std::string retrieval_policy;
  std::string tool_schema;
  std::string safety_policy;
  friend bool operator==(const Dependencies&, const Dependencies&) = default;
};

struct Approval {
  std::string approver;
  std::string ticket;
  friend bool operator==(const Approval&, const Approval&) = default;
};

struct Evaluation {
  std::string suite;
  std::string dataset;
  bool passed = false;
  double score = 0;
  friend bool operator==(const Evaluation&, const Evaluation&) = default;
};

struct Rollout {
  std::string scope;
  int percent = 100;
  friend bool operator==(const Rollout&, const Rollout&) = default;
};

struct Rollback {
  std::string target_version;
  std::string reason;
  std::string scope;
  std::vector<std::string> expected_consumers;
  friend bool operator==(const Rollback&, const Rollback&) = default;
};

struct Event {
  // CloudEvents attributes.
  std::string id;       // ce_id
  std::string source;   // ce_source
  std::string type;     // ce_type, "prompt.lifecycle.<kind>.v1"
  std::string time;     // ce_time as written (RFC 3339)
  TimestampMs time_ms;  // ce_time parsed, milliseconds since the epoch (UTC)
  std::string subject;  // ce_subject, the prompt id
  ContentMode mode = ContentMode::kBinary;

  // data
  int schema = kSchemaVersion;
  std::string prompt_id;
  std::string version;
  Kind kind = Kind::kProposed;
  std::string actor;
  std::optional<Template> tmpl;
  std::optional<Dependencies> dependencies;
  std::optional<Approval> approval;
  std::optional<Evaluation> evaluation;
  std::optional<Rollout> rollout;
  std::optional<Rollback> rollback;

  // The `data` object exactly as received (binary mode: the value; structured
  // mode: the serialized `data` member). Unknown fields survive here.
  std::string data_json;
  friend bool operator==(const Event&, const Event&) = default;
};

struct Rejection {
  Reason reason;
  std::string detail;  // human message naming the field, e.g. "rollout.percent is 140"
  friend bool operator==(const Rejection&, const Rejection&) = default;
};

// Parses and validates one record of the lifecycle stream. A record with
// several faults gets one reason: the first in the check order documented at
// the top of envelope.cc. A JSON member whose value is null counts as absent.
std::variant<Event, Rejection> Parse(const Record& record);

struct ParseOptions {
  // Fill Event::data_json, a copy of every value; a caller that never reads
  // it (the replay fold) leaves it out.
  bool keep_data_json = true;
};

// Parse for a loop over a stream: fills *event, reusing the storage its
// strings hold from the last call. Returns the rejection, or nullopt when
// *event holds the valid event; after a rejection *event is unspecified.
std::optional<Rejection> ParseInto(const Record& record, Event* event,
                                   const ParseOptions& options = {});

// The `data` JSON lifeline writes for an event (known fields only, stable
// member order).
std::string DataJson(const Event& event);

// Encodes an event as a binary-mode CloudEvents record: key = prompt id,
// headers ce_specversion, ce_id, ce_type, ce_source, ce_time, ce_subject,
// content-type in this order, value = DataJson(event), timestamp = time_ms
// (CreateTime). An empty type, time or subject is derived from kind, time_ms
// and prompt_id. Topic and partition are left for the caller. Strings must be
// valid UTF-8 for the result to parse.
Record EncodeBinary(const Event& event);

// Encodes an event in structured mode (content-type
// application/cloudevents+json), for tests and interop.
Record EncodeStructured(const Event& event);

// Formats milliseconds since the epoch as RFC 3339 UTC with milliseconds
// ("2026-11-26T10:15:00.123Z"), clamped to years 0000..9999; parses RFC 3339
// with any offset, fractions truncated to milliseconds.
std::string FormatRfc3339(TimestampMs ms);
std::optional<TimestampMs> ParseRfc3339(std::string_view text);

}  // namespace lifeline::envelope
