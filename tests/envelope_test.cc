#include "core/envelope.h"

#include <gtest/gtest.h>

#include <functional>
#include <nlohmann/json.hpp>

namespace lifeline::envelope {
namespace {

using ordered_json = nlohmann::ordered_json;

constexpr int64_t kTime = 1795688100123;  // 2026-11-26T10:15:00.123Z

Event Sample(Kind kind) {
  Event e;
  e.id = "0b6f3c1e-4a52-4d8e-9d0a-6f1c2b3a4d5e";
  e.source = "/registry/eu-1";
  e.type = EventType(kind);
  e.time_ms = TimestampMs(kTime);
  e.time = FormatRfc3339(e.time_ms);
  e.subject = "support-triage";
  e.prompt_id = "support-triage";
  e.version = "1.4.0";
  e.kind = kind;
  e.actor = "release-bot@acme";
  switch (kind) {
    case Kind::kProposed:
      e.tmpl = Template{std::string(64, 'a'), {"customer", "ticket"}, "Hello {{customer}}"};
      e.dependencies = Dependencies{"model-x@2026-10-01", "rp-17", "tools@3", "sp-2"};
      break;
    case Kind::kApproved:
    case Kind::kRejected:
      e.approval = Approval{"lead@acme", "CHG-1182"};
      break;
    case Kind::kEvaluated:
      e.evaluation = Evaluation{"triage-regression", "ds-2026-11", true, 0.93};
      break;
    case Kind::kDeployed:
    case Kind::kRolloutChanged:
      e.rollout = Rollout{"tenant:acme", 25};
      break;
    case Kind::kRolledBack:
      e.rollback = Rollback{"1.3.2",
                            "refusals up 4x",
                            "global",
                            {"release-controller", "audit", "evaluation", "observability"}};
      break;
    case Kind::kRetired:
      break;
  }
  return e;
}

Record Valid(Kind kind = Kind::kDeployed) { return EncodeBinary(Sample(kind)); }

std::vector<Kind> AllKinds() {
  std::vector<Kind> kinds;
  kinds.reserve(kKindCount);
  for (int i = 0; i < kKindCount; ++i) kinds.push_back(static_cast<Kind>(i));
  return kinds;
}

// The rejection of a record that must not parse.
Rejection RejectionOf(const Record& record) {
  auto result = Parse(record);
  if (std::holds_alternative<Event>(result)) {
    ADD_FAILURE() << "parsed, expected a rejection";
    return Rejection{Reason::kInvalidValue, "<parsed>"};
  }
  return std::get<Rejection>(result);
}

Reason ReasonOf(const Record& record) { return RejectionOf(record).reason; }

Event EventOf(const Record& record) {
  auto result = Parse(record);
  if (auto* r = std::get_if<Rejection>(&result)) {
    ADD_FAILURE() << "rejected: " << ReasonCode(r->reason) << ": " << r->detail;
    return Event{};
  }
  return std::get<Event>(result);
}

void SetHeader(Record* r, std::string_view name, std::optional<std::string> value) {
  for (Header& h : r->headers) {
    if (h.name == name) {
      h.value = std::move(value);
      return;
    }
  }
  r->headers.push_back({std::string(name), std::move(value)});
}

void RemoveHeader(Record* r, std::string_view name) {
  std::erase_if(r->headers, [&](const Header& h) { return h.name == name; });
}

// Rewrites the binary-mode value through a JSON document.
void EditData(Record* r, const std::function<void(ordered_json&)>& edit) {
  ordered_json data = ordered_json::parse(*r->value);
  edit(data);
  r->value = data.dump();
}

// ---------------------------------------------------------------------------
// Names

TEST(Envelope, KindNamesRoundTrip) {
  for (Kind kind : AllKinds()) EXPECT_EQ(KindFromName(KindName(kind)), kind);
  EXPECT_EQ(KindName(Kind::kRolledBack), "rolled_back");
  EXPECT_EQ(KindName(Kind::kRolloutChanged), "rollout_changed");
  EXPECT_FALSE(KindFromName("Deployed").has_value());
}

TEST(Envelope, ReasonCodesAreTheStableContract) {
  const char* codes[kReasonCount] = {
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
  for (int i = 0; i < kReasonCount; ++i) {
    EXPECT_EQ(ReasonCode(static_cast<Reason>(i)), codes[i]);
    EXPECT_EQ(ReasonFromCode(codes[i]), static_cast<Reason>(i));
  }
  EXPECT_FALSE(ReasonFromCode("nope").has_value());
}

TEST(Envelope, EventTypeNamesTheKind) {
  EXPECT_EQ(EventType(Kind::kRolloutChanged), "prompt.lifecycle.rollout_changed.v1");
}

// ---------------------------------------------------------------------------
// Round trips

TEST(Envelope, RoundTripsEveryKindInBinaryMode) {
  for (Kind kind : AllKinds()) {
    SCOPED_TRACE(KindName(kind));
    Event expected = Sample(kind);
    expected.data_json = DataJson(expected);
    EXPECT_EQ(EventOf(EncodeBinary(expected)), expected);
  }
}

TEST(Envelope, RoundTripsEveryKindInStructuredMode) {
  for (Kind kind : AllKinds()) {
    SCOPED_TRACE(KindName(kind));
    Event expected = Sample(kind);
    expected.mode = ContentMode::kStructured;
    expected.data_json = DataJson(expected);
    EXPECT_EQ(EventOf(EncodeStructured(expected)), expected);
  }
}

// One Event parsed into again and again (the replay fold's loop) holds, after
// each call, exactly what a fresh Parse gives: nothing of the event before
// it survives (a proposal's template, a structured event's mode), and an
// invalid record in between leaves nothing behind either.
TEST(Envelope, ParseIntoAReusedEventKeepsNothingOfTheLastOne) {
  Event reused;
  Record invalid = Valid();
  invalid.value = "{not json";
  for (ContentMode mode : {ContentMode::kStructured, ContentMode::kBinary}) {
    for (Kind kind : AllKinds()) {
      SCOPED_TRACE(std::string(KindName(kind)));
      const Record r = mode == ContentMode::kStructured ? EncodeStructured(Sample(kind))
                                                        : EncodeBinary(Sample(kind));
      ASSERT_TRUE(ParseInto(invalid, &reused).has_value());
      ASSERT_EQ(ParseInto(r, &reused), std::nullopt);
      EXPECT_EQ(reused, EventOf(r));
      // Without data_json, the same event with that one member empty.
      ASSERT_EQ(ParseInto(r, &reused, {.keep_data_json = false}), std::nullopt);
      Event expected = EventOf(r);
      expected.data_json.clear();
      EXPECT_EQ(reused, expected);
    }
  }
}

TEST(Envelope, WritesBinaryHeadersInFixedOrder) {
  const Record r = Valid();
  std::vector<std::string> names;
  for (const Header& h : r.headers) names.push_back(h.name);
  EXPECT_EQ(names, (std::vector<std::string>{"ce_specversion", "ce_id", "ce_type", "ce_source",
                                             "ce_time", "ce_subject", "content-type"}));
  EXPECT_EQ(r.headers[0].value, "1.0");
  EXPECT_EQ(r.headers[2].value, "prompt.lifecycle.deployed.v1");
  EXPECT_EQ(r.headers[4].value, "2026-11-26T10:15:00.123Z");
  EXPECT_EQ(r.headers[6].value, "application/json");
  EXPECT_EQ(r.key, "support-triage");
  EXPECT_EQ(r.timestamp, TimestampMs(kTime));
  EXPECT_EQ(r.timestamp_type, TimestampType::kCreateTime);
}

TEST(Envelope, WritesDataMembersInStableOrder) {
  EXPECT_EQ(DataJson(Sample(Kind::kDeployed)),
            R"({"schema":1,"prompt_id":"support-triage","version":"1.4.0","kind":"deployed",)"
            R"("actor":"release-bot@acme","rollout":{"scope":"tenant:acme","percent":25}})");
}

TEST(Envelope, DerivesTypeTimeAndSubjectWhenEmpty) {
  Event e = Sample(Kind::kApproved);
  e.type.clear();
  e.time.clear();
  e.subject.clear();
  const Event parsed = EventOf(EncodeBinary(e));
  EXPECT_EQ(parsed.type, "prompt.lifecycle.approved.v1");
  EXPECT_EQ(parsed.time, "2026-11-26T10:15:00.123Z");
  EXPECT_EQ(parsed.subject, "support-triage");
}

TEST(Envelope, EscapesStringsSoTheyRoundTrip) {
  Event e = Sample(Kind::kProposed);
  e.tmpl->text = "Say \"hi\" to {{customer}}\\\n\ttab\x01\x1f\b\f\r é 😀 \x7f";
  e.actor = "o'brien@acme";
  const Event binary = EventOf(EncodeBinary(e));
  EXPECT_EQ(binary.tmpl->text, e.tmpl->text);
  EXPECT_EQ(binary.actor, e.actor);
  const Event structured = EventOf(EncodeStructured(e));
  EXPECT_EQ(structured.tmpl->text, e.tmpl->text);
  EXPECT_EQ(structured.data_json, DataJson(e));
}

TEST(Envelope, KeepsUnknownFields) {
  Record r = Valid();
  EditData(&r, [](ordered_json& d) {
    d["x_future"] = {{"canary", true}};
    d["rollout"]["region_weights"] = {1, 2};
  });
  const Event e = EventOf(r);
  EXPECT_EQ(e.rollout->percent, 25);
  EXPECT_NE(e.data_json.find("x_future"), std::string::npos);
  EXPECT_NE(e.data_json.find("region_weights"), std::string::npos);
}

TEST(Envelope, KeepsUnknownFieldsInStructuredMode) {
  Record r = EncodeStructured(Sample(Kind::kDeployed));
  ordered_json ce = ordered_json::parse(*r.value);
  ce["data"]["x_future"] = "later";
  ce["traceparent"] = "00-abc";  // an extension attribute
  r.value = ce.dump();
  const Event e = EventOf(r);
  EXPECT_EQ(e.mode, ContentMode::kStructured);
  EXPECT_NE(e.data_json.find(R"("x_future":"later")"), std::string::npos);
}

TEST(Envelope, AcceptsBinaryModeWithoutContentType) {
  Record r = Valid();
  RemoveHeader(&r, "content-type");
  EXPECT_EQ(EventOf(r).mode, ContentMode::kBinary);
}

TEST(Envelope, AcceptsContentTypeParametersAndCase) {
  Record r = Valid();
  SetHeader(&r, "content-type", "Application/JSON; charset=utf-8");
  EXPECT_EQ(EventOf(r).kind, Kind::kDeployed);
}

TEST(Envelope, UsesTheLastOfRepeatedHeaders) {
  Record r = Valid();
  r.headers.push_back({"ce_id", "second"});
  EXPECT_EQ(EventOf(r).id, "second");
}

TEST(Envelope, TreatsNullOptionalMembersAsAbsent) {
  Record r = Valid(Kind::kApproved);
  EditData(&r, [](ordered_json& d) {
    d["approval"]["ticket"] = nullptr;
    d["rollout"] = nullptr;
  });
  const Event e = EventOf(r);
  EXPECT_EQ(e.approval->ticket, "");
  EXPECT_FALSE(e.rollout.has_value());
}

TEST(Envelope, DefaultsRolloutPercentTo100) {
  Record r = Valid();
  EditData(&r, [](ordered_json& d) { d["rollout"].erase("percent"); });
  EXPECT_EQ(EventOf(r).rollout->percent, 100);
}

TEST(Envelope, AcceptsIntegerScore) {
  Record r = Valid(Kind::kEvaluated);
  EditData(&r, [](ordered_json& d) { d["evaluation"]["score"] = 1; });
  EXPECT_EQ(EventOf(r).evaluation->score, 1.0);
}

TEST(Envelope, ValidatesKnownObjectsOnAnyKind) {
  Record r = Valid(Kind::kRetired);
  EditData(&r, [](ordered_json& d) { d["rollout"] = {{"scope", "global"}, {"percent", 101}}; });
  EXPECT_EQ(ReasonOf(r), Reason::kInvalidValue);
}

// ---------------------------------------------------------------------------
// One test per reason code

TEST(EnvelopeReason, QuarantinesZeroLengthValueAsEmptyValue) {
  Record r = Valid();
  r.value = "";
  EXPECT_EQ(ReasonOf(r), Reason::kEmptyValue);
}

TEST(EnvelopeReason, QuarantinesNullValueAsTombstone) {
  Record r = Valid();
  r.value.reset();
  EXPECT_EQ(ReasonOf(r), Reason::kTombstone);
}

TEST(EnvelopeReason, QuarantinesValueOverOneMebibyteAsValueTooLarge) {
  Record r = Valid();
  r.value = std::string(kMaxValueBytes + 1, ' ');
  EXPECT_EQ(ReasonOf(r), Reason::kValueTooLarge);
  r.value = std::string(kMaxValueBytes, ' ');
  EXPECT_EQ(ReasonOf(r), Reason::kInvalidJson);  // exactly at the limit is parsed
}

TEST(EnvelopeReason, QuarantinesTruncatedJsonAsInvalidJson) {
  Record r = Valid();
  r.value->pop_back();
  EXPECT_EQ(ReasonOf(r), Reason::kInvalidJson);
}

TEST(EnvelopeReason, QuarantinesJsonArrayValueAsInvalidJson) {
  Record r = Valid();
  r.value = "[1,2]";
  EXPECT_EQ(ReasonOf(r), Reason::kInvalidJson);
}

TEST(EnvelopeReason, QuarantinesRepeatedMemberAsInvalidJson) {
  Record r = Valid();
  r.value->insert(1, R"("kind":"retired",)");
  const Rejection rej = RejectionOf(r);
  EXPECT_EQ(rej.reason, Reason::kInvalidJson);
  EXPECT_NE(rej.detail.find("kind"), std::string::npos) << rej.detail;
}

TEST(EnvelopeReason, QuarantinesInvalidUtf8InsideJsonAsInvalidJson) {
  Record r = Valid();
  r.value->replace(r.value->find("release-bot"), 1, "\xC0");
  EXPECT_EQ(ReasonOf(r), Reason::kInvalidJson);
}

TEST(EnvelopeReason, QuarantinesAvroContentTypeAsUnsupportedContentType) {
  Record r = Valid();
  SetHeader(&r, "content-type", "application/avro");
  EXPECT_EQ(ReasonOf(r), Reason::kUnsupportedContentType);
}

TEST(EnvelopeReason, QuarantinesRecordWithoutAnyHeadersAsUnsupportedContentType) {
  Record r = Valid();
  r.headers.clear();
  EXPECT_EQ(ReasonOf(r), Reason::kUnsupportedContentType);
}

TEST(EnvelopeReason, QuarantinesStructuredTextDataAsUnsupportedContentType) {
  Record r = EncodeStructured(Sample(Kind::kDeployed));
  ordered_json ce = ordered_json::parse(*r.value);
  ce["datacontenttype"] = "text/plain";
  r.value = ce.dump();
  EXPECT_EQ(ReasonOf(r), Reason::kUnsupportedContentType);
}

TEST(EnvelopeReason, QuarantinesEachMissingCeHeaderAsMissingHeader) {
  for (const char* name :
       {"ce_specversion", "ce_id", "ce_type", "ce_source", "ce_time", "ce_subject"}) {
    Record r = Valid();
    RemoveHeader(&r, name);
    const Rejection rej = RejectionOf(r);
    EXPECT_EQ(rej.reason, Reason::kMissingHeader) << name;
    EXPECT_NE(rej.detail.find(name), std::string::npos) << rej.detail;
  }
}

TEST(EnvelopeReason, QuarantinesNullValuedHeaderAsMissingHeader) {
  Record r = Valid();
  SetHeader(&r, "ce_id", std::nullopt);
  EXPECT_EQ(ReasonOf(r), Reason::kMissingHeader);
}

TEST(EnvelopeReason, QuarantinesSpecVersion03AsUnsupportedSpecVersion) {
  Record r = Valid();
  SetHeader(&r, "ce_specversion", "0.3");
  EXPECT_EQ(ReasonOf(r), Reason::kUnsupportedSpecVersion);
}

TEST(EnvelopeReason, QuarantinesDeployedWithoutRolloutAsMissingField) {
  Record r = Valid();
  EditData(&r, [](ordered_json& d) { d.erase("rollout"); });
  const Rejection rej = RejectionOf(r);
  EXPECT_EQ(rej.reason, Reason::kMissingField);
  EXPECT_EQ(rej.detail, "missing rollout");
}

TEST(EnvelopeReason, QuarantinesEveryKindWithoutItsRequiredObjectAsMissingField) {
  const std::pair<Kind, const char*> cases[] = {
      {Kind::kProposed, "template"},      {Kind::kProposed, "dependencies"},
      {Kind::kApproved, "approval"},      {Kind::kRejected, "approval"},
      {Kind::kEvaluated, "evaluation"},   {Kind::kDeployed, "rollout"},
      {Kind::kRolloutChanged, "rollout"}, {Kind::kRolledBack, "rollback"},
  };
  for (const auto& [kind, name] : cases) {
    // A copy, not the binding: clang-tidy 14 cannot capture a structured
    // binding (C++20 allows it).
    const char* object = name;
    Record r = Valid(kind);
    EditData(&r, [object](ordered_json& d) { d.erase(object); });
    EXPECT_EQ(ReasonOf(r), Reason::kMissingField) << KindName(kind) << " " << object;
  }
}

TEST(EnvelopeReason, QuarantinesRollbackWithoutScopeAsMissingField) {
  Record r = Valid(Kind::kRolledBack);
  EditData(&r, [](ordered_json& d) { d["rollback"].erase("scope"); });
  EXPECT_EQ(RejectionOf(r).detail, "missing rollback.scope");
}

TEST(EnvelopeReason, QuarantinesStructuredEventWithoutIdAsMissingField) {
  Record r = EncodeStructured(Sample(Kind::kDeployed));
  ordered_json ce = ordered_json::parse(*r.value);
  ce.erase("id");
  r.value = ce.dump();
  EXPECT_EQ(RejectionOf(r), (Rejection{Reason::kMissingField, "missing id"}));
}

TEST(EnvelopeReason, QuarantinesNumericVersionAsWrongType) {
  Record r = Valid();
  EditData(&r, [](ordered_json& d) { d["version"] = 14; });
  EXPECT_EQ(RejectionOf(r),
            (Rejection{Reason::kWrongType, "version is an integer, expected a string"}));
}

TEST(EnvelopeReason, QuarantinesStringPercentAsWrongTypeNamingThePath) {
  Record r = Valid();
  EditData(&r, [](ordered_json& d) { d["rollout"]["percent"] = "50"; });
  EXPECT_EQ(RejectionOf(r),
            (Rejection{Reason::kWrongType, "rollout.percent is a string, expected an integer"}));
}

TEST(EnvelopeReason, QuarantinesFractionalPercentAsWrongType) {
  Record r = Valid();
  EditData(&r, [](ordered_json& d) { d["rollout"]["percent"] = 50.5; });
  EXPECT_EQ(ReasonOf(r), Reason::kWrongType);
}

TEST(EnvelopeReason, QuarantinesNumericVariableAsWrongTypeNamingTheIndex) {
  Record r = Valid(Kind::kProposed);
  EditData(&r, [](ordered_json& d) { d["template"]["variables"][1] = 7; });
  EXPECT_EQ(RejectionOf(r).detail, "template.variables[1] is an integer, expected a string");
}

TEST(EnvelopeReason, QuarantinesStringPassedAsWrongType) {
  Record r = Valid(Kind::kEvaluated);
  EditData(&r, [](ordered_json& d) { d["evaluation"]["passed"] = "yes"; });
  EXPECT_EQ(ReasonOf(r), Reason::kWrongType);
}

TEST(EnvelopeReason, QuarantinesArchivedKindAsUnknownKind) {
  Record r = Valid();
  EditData(&r, [](ordered_json& d) { d["kind"] = "archived"; });
  SetHeader(&r, "ce_type", "prompt.lifecycle.archived.v1");
  EXPECT_EQ(ReasonOf(r), Reason::kUnknownKind);
}

TEST(EnvelopeReason, QuarantinesApprovedTypeOnDeployedDataAsTypeKindMismatch) {
  Record r = Valid();
  SetHeader(&r, "ce_type", "prompt.lifecycle.approved.v1");
  EXPECT_EQ(ReasonOf(r), Reason::kTypeKindMismatch);
}

TEST(EnvelopeReason, QuarantinesTypeVersion2AsTypeKindMismatch) {
  Record r = Valid();
  SetHeader(&r, "ce_type", "prompt.lifecycle.deployed.v2");
  EXPECT_EQ(ReasonOf(r), Reason::kTypeKindMismatch);
}

TEST(EnvelopeReason, QuarantinesSchema2AsSchemaTooNew) {
  Record r = Valid();
  EditData(&r, [](ordered_json& d) { d["schema"] = 2; });
  EXPECT_EQ(ReasonOf(r), Reason::kSchemaTooNew);
}

TEST(EnvelopeReason, QuarantinesHugeSchemaAsSchemaTooNew) {
  Record r = Valid();
  EditData(&r, [](ordered_json& d) { d["schema"] = 18446744073709551615ull; });
  EXPECT_EQ(ReasonOf(r), Reason::kSchemaTooNew);
}

TEST(EnvelopeReason, QuarantinesThirteenthMonthAsInvalidTime) {
  Record r = Valid();
  SetHeader(&r, "ce_time", "2026-13-01T00:00:00Z");
  EXPECT_EQ(ReasonOf(r), Reason::kInvalidTime);
}

TEST(EnvelopeReason, QuarantinesNullKeyAsMissingKey) {
  Record r = Valid();
  r.key.reset();
  EXPECT_EQ(ReasonOf(r), Reason::kMissingKey);
}

TEST(EnvelopeReason, QuarantinesEmptyKeyAsMissingKey) {
  Record r = Valid();
  r.key = "";
  EXPECT_EQ(ReasonOf(r), Reason::kMissingKey);
}

TEST(EnvelopeReason, QuarantinesMalformedUtf8KeysAsKeyNotUtf8) {
  const char* bad[] = {
      "\xC0\xAF",          // overlong '/'
      "\xE0\x80\xAF",      // overlong, three bytes
      "\xED\xA0\x80",      // surrogate U+D800
      "\xF4\x90\x80\x80",  // above U+10FFFF
      "abc\xE2\x82",       // truncated
      "\x80",              // lone continuation byte
      "\xFF",
  };
  for (const char* key : bad) {
    Record r = Valid();
    r.key = key;
    EXPECT_EQ(ReasonOf(r), Reason::kKeyNotUtf8) << ::testing::PrintToString(std::string(key));
  }
}

TEST(EnvelopeReason, AcceptsMultibyteUtf8Keys) {
  Event e = Sample(Kind::kRetired);
  e.prompt_id = e.subject = "résumé-screen-😀-\xEF\xBF\xBF";
  EXPECT_EQ(EventOf(EncodeBinary(e)).prompt_id, e.prompt_id);
}

TEST(EnvelopeReason, QuarantinesSubjectOtherThanKeyAsSubjectMismatch) {
  Record r = Valid();
  SetHeader(&r, "ce_subject", "invoice-extract");
  EXPECT_EQ(ReasonOf(r), Reason::kSubjectMismatch);
}

TEST(EnvelopeReason, QuarantinesPromptIdOtherThanKeyAsPromptIdMismatch) {
  Record r = Valid();
  EditData(&r, [](ordered_json& d) { d["prompt_id"] = "invoice-extract"; });
  EXPECT_EQ(ReasonOf(r), Reason::kPromptIdMismatch);
}

TEST(EnvelopeReason, QuarantinesActorOver64KiBAsFieldTooLarge) {
  Record r = Valid();
  EditData(&r, [](ordered_json& d) { d["actor"] = std::string(kMaxFieldBytes + 1, 'a'); });
  EXPECT_EQ(RejectionOf(r).reason, Reason::kFieldTooLarge);
  EditData(&r, [](ordered_json& d) { d["actor"] = std::string(kMaxFieldBytes, 'a'); });
  EXPECT_TRUE(std::holds_alternative<Event>(Parse(r)));
}

TEST(EnvelopeReason, QuarantinesLargeUnknownStringAsFieldTooLargeNamingThePath) {
  Record r = Valid();
  EditData(&r, [](ordered_json& d) {
    d["notes"] = {"short", std::string(kMaxFieldBytes + 1, 'n')};
  });
  EXPECT_EQ(RejectionOf(r).detail, "notes[1] is 65537 bytes, limit 65536");
}

TEST(EnvelopeReason, QuarantinesLargeHeaderAsFieldTooLarge) {
  Record r = Valid();
  SetHeader(&r, "ce_source", std::string(kMaxFieldBytes + 1, 's'));
  EXPECT_EQ(ReasonOf(r), Reason::kFieldTooLarge);
}

TEST(EnvelopeReason, QuarantinesRolloutPercentAbove100AsInvalidValue) {
  Record r = Valid();
  EditData(&r, [](ordered_json& d) { d["rollout"]["percent"] = 140; });
  EXPECT_EQ(RejectionOf(r),
            (Rejection{Reason::kInvalidValue, "rollout.percent is 140, expected 0..100"}));
}

TEST(EnvelopeReason, QuarantinesOutOfRangeValuesAsInvalidValue) {
  const std::pair<Kind, std::function<void(ordered_json&)>> cases[] = {
      {Kind::kDeployed, [](ordered_json& d) { d["rollout"]["percent"] = -1; }},
      {Kind::kDeployed, [](ordered_json& d) { d["rollout"]["percent"] = 1ll << 40; }},
      {Kind::kDeployed, [](ordered_json& d) { d["rollout"]["scope"] = ""; }},
      {Kind::kEvaluated, [](ordered_json& d) { d["evaluation"]["score"] = 1.5; }},
      {Kind::kEvaluated, [](ordered_json& d) { d["evaluation"]["score"] = -0.1; }},
      {Kind::kProposed, [](ordered_json& d) { d["template"]["sha256"] = "ABC"; }},
      {Kind::kProposed, [](ordered_json& d) { d["template"]["sha256"] = std::string(64, 'A'); }},
      {Kind::kProposed, [](ordered_json& d) { d["dependencies"]["model"] = ""; }},
      {Kind::kApproved, [](ordered_json& d) { d["approval"]["approver"] = ""; }},
      {Kind::kRolledBack, [](ordered_json& d) { d["rollback"]["target_version"] = "1.4.0"; }},
      {Kind::kRetired, [](ordered_json& d) { d["actor"] = ""; }},
      {Kind::kRetired, [](ordered_json& d) { d["version"] = ""; }},
      {Kind::kRetired, [](ordered_json& d) { d["schema"] = 0; }},
  };
  for (const auto& [kind, edit] : cases) {
    Record r = Valid(kind);
    EditData(&r, edit);
    const Rejection rej = RejectionOf(r);
    EXPECT_EQ(rej.reason, Reason::kInvalidValue) << *r.value << " -> " << rej.detail;
  }
}

TEST(EnvelopeReason, QuarantinesEmptyEventIdAsInvalidValue) {
  Record r = Valid();
  SetHeader(&r, "ce_id", "");
  EXPECT_EQ(RejectionOf(r), (Rejection{Reason::kInvalidValue, "ce_id is empty"}));
}

// ---------------------------------------------------------------------------
// Check order

// Faults on independent fields, listed from the last check to the first. Each
// is added on top of the previous ones and must become the reported reason.
TEST(EnvelopeOrder, ReportsTheEarliestOfAccumulatedFaultsInCheckOrder) {
  const std::pair<Reason, std::function<void(Record*)>> faults[] = {
      {Reason::kInvalidValue,
       [](Record* r) { EditData(r, [](ordered_json& d) { d["rollout"]["percent"] = 140; }); }},
      {Reason::kMissingField,
       [](Record* r) { EditData(r, [](ordered_json& d) {
                         d["dependencies"] = {{"x", 1}};
                       }); }},
      {Reason::kPromptIdMismatch,
       [](Record* r) { EditData(r, [](ordered_json& d) { d["prompt_id"] = "other"; }); }},
      {Reason::kTypeKindMismatch,
       [](Record* r) { SetHeader(r, "ce_type", "prompt.lifecycle.approved.v1"); }},
      {Reason::kUnknownKind,
       [](Record* r) { EditData(r, [](ordered_json& d) { d["kind"] = "archived"; }); }},
      {Reason::kWrongType,
       [](Record* r) { EditData(r, [](ordered_json& d) { d["version"] = 1; }); }},
      {Reason::kMissingField,
       [](Record* r) { EditData(r, [](ordered_json& d) { d.erase("prompt_id"); }); }},
      {Reason::kSchemaTooNew,
       [](Record* r) { EditData(r, [](ordered_json& d) { d["schema"] = 2; }); }},
      {Reason::kFieldTooLarge,
       [](Record* r) {
         EditData(r, [](ordered_json& d) { d["notes"] = std::string(kMaxFieldBytes + 1, 'n'); });
       }},
      {Reason::kInvalidJson, [](Record* r) { r->value->insert(1, R"("schema":1,)"); }},
      {Reason::kSubjectMismatch, [](Record* r) { SetHeader(r, "ce_subject", "other"); }},
      {Reason::kInvalidTime, [](Record* r) { SetHeader(r, "ce_time", "soon"); }},
      {Reason::kFieldTooLarge,
       [](Record* r) { SetHeader(r, "ce_source", std::string(kMaxFieldBytes + 1, 's')); }},
      {Reason::kUnsupportedSpecVersion, [](Record* r) { SetHeader(r, "ce_specversion", "0.3"); }},
      {Reason::kMissingHeader, [](Record* r) { RemoveHeader(r, "ce_id"); }},
      {Reason::kUnsupportedContentType,
       [](Record* r) { SetHeader(r, "content-type", "text/plain"); }},
      {Reason::kKeyNotUtf8, [](Record* r) { r->key = "\xFF"; }},
      {Reason::kMissingKey, [](Record* r) { r->key.reset(); }},
      {Reason::kValueTooLarge, [](Record* r) { r->value->append(kMaxValueBytes, ' '); }},
      {Reason::kEmptyValue, [](Record* r) { r->value = ""; }},
      {Reason::kTombstone, [](Record* r) { r->value.reset(); }},
  };
  Record r = Valid();
  for (const auto& [reason, add_fault] : faults) {
    add_fault(&r);
    const Rejection first = RejectionOf(r);
    EXPECT_EQ(first.reason, reason)
        << ReasonCode(reason) << " got " << ReasonCode(first.reason) << ": " << first.detail;
    EXPECT_EQ(RejectionOf(r), first);  // and deterministically so
  }
}

TEST(EnvelopeOrder, NamesTheFirstAbsentHeaderInFixedOrder) {
  Record r = Valid();
  RemoveHeader(&r, "ce_subject");
  RemoveHeader(&r, "ce_type");
  EXPECT_EQ(RejectionOf(r).detail, "missing header ce_type");
}

TEST(EnvelopeOrder, ChecksCommonFieldsOneAtATimeInFieldOrder) {
  Record r = Valid();
  EditData(&r, [](ordered_json& d) {
    d["version"] = 3;
    d.erase("actor");
  });
  EXPECT_EQ(ReasonOf(r), Reason::kWrongType);  // version comes before actor

  r = Valid();
  EditData(&r, [](ordered_json& d) {
    d.erase("version");
    d["actor"] = 3;
  });
  EXPECT_EQ(ReasonOf(r), Reason::kMissingField);
}

TEST(EnvelopeOrder, ChecksSchemaBeforeTheShapeOfData) {
  Record r = Valid();
  EditData(&r, [](ordered_json& d) {
    d["schema"] = 2;
    d.erase("actor");
    d["rollout"] = "everywhere";
  });
  EXPECT_EQ(ReasonOf(r), Reason::kSchemaTooNew);
}

TEST(EnvelopeOrder, ChecksObjectsInFixedOrder) {
  Record r = Valid(Kind::kProposed);
  EditData(&r, [](ordered_json& d) {
    d["rollback"] = 1;
    d["template"].erase("variables");
  });
  EXPECT_EQ(RejectionOf(r).detail, "missing template.variables");
}

// ---------------------------------------------------------------------------
// RFC 3339

TEST(Rfc3339, ParsesUtcWithMilliseconds) {
  EXPECT_EQ(ParseRfc3339("2026-11-26T10:15:00.123Z"), TimestampMs(1795688100123));
  EXPECT_EQ(ParseRfc3339("1970-01-01T00:00:00Z"), TimestampMs(0));
}

TEST(Rfc3339, AppliesPositiveAndNegativeOffsets) {
  EXPECT_EQ(ParseRfc3339("2026-11-26T11:15:00.123+01:00"), TimestampMs(1795688100123));
  EXPECT_EQ(ParseRfc3339("2026-11-26T04:45:00.123-05:30"), TimestampMs(1795688100123));
  EXPECT_EQ(ParseRfc3339("2026-11-27T00:15:00.123+14:00"), TimestampMs(1795688100123));
  EXPECT_EQ(ParseRfc3339("2026-11-26T10:15:00.123-00:00"), TimestampMs(1795688100123));
}

TEST(Rfc3339, TruncatesFractionsOfAnyLengthToMilliseconds) {
  EXPECT_EQ(ParseRfc3339("1970-01-01T00:00:01.5Z"), TimestampMs(1500));
  EXPECT_EQ(ParseRfc3339("1970-01-01T00:00:01.05Z"), TimestampMs(1050));
  EXPECT_EQ(ParseRfc3339("1970-01-01T00:00:01.123456789Z"), TimestampMs(1123));
  EXPECT_EQ(ParseRfc3339("1970-01-01T00:00:01.999999999999999999999Z"), TimestampMs(1999));
}

TEST(Rfc3339, AcceptsLowerCaseSeparators) {
  EXPECT_EQ(ParseRfc3339("2026-11-26t10:15:00.123z"), TimestampMs(1795688100123));
}

TEST(Rfc3339, HandlesLeapDaysAndDatesBeforeTheEpoch) {
  EXPECT_EQ(ParseRfc3339("2024-02-29T23:59:59Z"), TimestampMs(1709251199000));
  EXPECT_EQ(ParseRfc3339("1969-07-20T20:17:40Z"), TimestampMs(-14182940000));
  EXPECT_EQ(ParseRfc3339("1969-12-31T23:59:59.999Z"), TimestampMs(-1));
  EXPECT_TRUE(ParseRfc3339("2000-02-29T00:00:00Z").has_value());
  EXPECT_FALSE(ParseRfc3339("2100-02-29T00:00:00Z").has_value());
  EXPECT_FALSE(ParseRfc3339("2026-02-29T00:00:00Z").has_value());
}

TEST(Rfc3339, AcceptsLeapSecondAsTheNextSecond) {
  EXPECT_EQ(ParseRfc3339("2016-12-31T23:59:60Z"), ParseRfc3339("2017-01-01T00:00:00Z"));
}

TEST(Rfc3339, RejectsGarbage) {
  for (const char* text : {
           "",
           "soon",
           "2026-11-26",
           "2026-11-26T10:15:00",
           "2026-11-26 10:15:00Z",
           "2026-11-26T10:15Z",
           "2026-11-26T10:15:00.Z",
           "2026-11-26T10:15:00+0100",
           "2026-11-26T10:15:00+01",
           "2026-11-26T10:15:00+24:00",
           "2026-11-26T10:15:00+01:60",
           "2026-11-26T24:00:00Z",
           "2026-11-26T10:60:00Z",
           "2026-11-26T10:15:61Z",
           "2026-00-26T10:15:00Z",
           "2026-11-00T10:15:00Z",
           "2026-11-31T10:15:00Z",
           "2026-1-26T10:15:00Z",
           "+2026-11-26T10:15:00Z",
           "2026-11-26T10:15:00Zjunk",
           "2026-11-26T10:15:00.123Z ",
           " 2026-11-26T10:15:00Z",
           "2026-11-26T1a:15:00Z",
           "2026-11-26T10:15:00.1a3Z",
       }) {
    EXPECT_FALSE(ParseRfc3339(text).has_value()) << text;
  }
}

TEST(Rfc3339, FormatsUtcWithMilliseconds) {
  EXPECT_EQ(FormatRfc3339(TimestampMs(1795688100123)), "2026-11-26T10:15:00.123Z");
  EXPECT_EQ(FormatRfc3339(TimestampMs(0)), "1970-01-01T00:00:00.000Z");
  EXPECT_EQ(FormatRfc3339(TimestampMs(-1)), "1969-12-31T23:59:59.999Z");
  EXPECT_EQ(FormatRfc3339(TimestampMs(1709251199000)), "2024-02-29T23:59:59.000Z");
}

TEST(Rfc3339, ClampsFormattingToFourDigitYears) {
  EXPECT_EQ(FormatRfc3339(TimestampMs(INT64_MAX)), "9999-12-31T23:59:59.999Z");
  EXPECT_EQ(FormatRfc3339(TimestampMs(INT64_MIN)), "0000-01-01T00:00:00.000Z");
}

TEST(Rfc3339, FormatAndParseRoundTrip) {
  uint64_t x = 88172645463325252ull;
  for (int i = 0; i < 20000; ++i) {
    x ^= x << 13, x ^= x >> 7, x ^= x << 17;
    // Spread over years 0000..9999.
    const int64_t ms = static_cast<int64_t>(x % 315537897600000ull) - 62167219200000;
    const std::string text = FormatRfc3339(TimestampMs(ms));
    ASSERT_EQ(ParseRfc3339(text), TimestampMs(ms)) << text;
  }
}

}  // namespace
}  // namespace lifeline::envelope
